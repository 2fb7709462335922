import { execFile } from "node:child_process"
import { lstatSync, mkdtempSync, readdirSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"

// The installable package `pnpm build` makes (packages/cli/dist/release): packed by npm, installed
// with `npm install --global` into an empty prefix without the registry (--offline), it gives a
// `pipetrail` on the PATH that runs with nothing else from this repository.

const exec = promisify(execFile)
const release = fileURLToPath(new URL("../dist/release", import.meta.url))

describe("the installable CLI", () => {
  it("installs from its packed tarball offline and runs: --version, demo on a fresh data dir", async () => {
    const work = mkdtempSync(join(tmpdir(), "pipetrail-install-"))
    const prefix = join(work, "prefix")
    const home = join(work, "home")
    const npmEnv = { ...process.env, npm_config_cache: join(work, "npm-cache"), npm_config_update_notifier: "false" }
    await exec("npm", ["pack", release, "--pack-destination", work], { env: npmEnv })
    const tarball = readdirSync(work).find((name) => name.endsWith(".tgz"))
    assert.isDefined(tarball)
    await exec(
      "npm",
      ["install", "--global", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", join(work, tarball!)],
      { env: npmEnv }
    )
    // Only the installed binary and Node itself on the PATH; a home of its own.
    const env = {
      PATH: `${join(prefix, "bin")}:${dirname(process.execPath)}`,
      HOME: home,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true"
    }
    const cwd = mkdtempSync(join(tmpdir(), "pipetrail-install-cwd-"))
    const version = await exec("pipetrail", ["--version"], { env, cwd })
    assert.match(version.stdout, /^0\.1\.0\s*$/)
    const dataDir = join(work, "fresh-store")
    const demo = await exec("pipetrail", ["demo", "--data-dir", dataDir], { env, cwd, timeout: 110_000 })
    assert.include(demo.stdout, "== delivery metrics")
    assert.isTrue(statSync(dataDir).isDirectory())
    // The installed package is not a link back into this repository.
    assert.isFalse(lstatSync(join(prefix, "lib", "node_modules", "pipetrail")).isSymbolicLink())
  }, 180_000)
})
