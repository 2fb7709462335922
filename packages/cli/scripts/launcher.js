#!/usr/bin/env node
// pipetrail's installed entry point, written into dist/release/pipetrail.js by scripts/bundle.mjs,
// which fills in the two texts below by running the bundled CLI (cli.js) at build time. It answers
// `pipetrail --version` and `pipetrail --help` with them and starts nothing else; every other
// command line runs cli.js. Colour follows the CLI's rule (Output.colour).
const version = "@VERSION@"
const help = "@HELP@"

const args = process.argv.slice(2)
const text =
  args.length === 1 && args[0] === "--version"
    ? version
    : args.length === 0 || (args.length === 1 && (args[0] === "--help" || args[0] === "-h"))
      ? help
      : undefined

if (text === undefined) {
  await import("./cli.js")
} else {
  const env = process.env
  const colour =
    env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0"
      ? true
      : (env.NO_COLOR ?? "") !== ""
        ? false
        : process.stdout.isTTY === true
  // A reader that stops early (`pipetrail --help | head`) is not an error.
  process.stdout.on("error", () => undefined)
  process.stdout.write(colour ? text : text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), ""))
}
