// Builds the installable CLI in dist/release/: tsc's dist/bin.js and everything it imports bundled,
// minified, into cli.js (chunks the commands load only when they need them: the AWS SDK, the emulator,
// the PostgreSQL driver), next to a package.json and the two dependencies that cannot be bundled
// (PGlite and libpg-query find their WASM and data files next to their own modules), copied in so
// that `npm pack` puts them in the tarball and `npm install --global` of it needs no registry.
// pipetrail.js, the package's bin, is scripts/launcher.js with the CLI's --version and --help texts.
import { execFileSync } from "node:child_process"
import { cp, mkdir, readFile, realpath, rm, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

const root = fileURLToPath(new URL("..", import.meta.url))
const outdir = join(root, "dist", "release")
const own = JSON.parse(await readFile(join(root, "package.json"), "utf8"))
const unbundled = ["@electric-sql/pglite", "libpg-query"]

/**
 * pg asks at load whether it runs in a Cloudflare Worker by evaluating `typeof Response`, and on
 * Node 20 that global's first use loads Node's whole fetch implementation (undici): ~40 ms of every
 * command that opens PostgreSQL. The CLI runs on Node only, so the answer is fixed here.
 */
const nodeOnlyPg = {
  name: "node-only-pg",
  setup(build) {
    build.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8")
      const patched = source.replace(
        "function isCloudflareRuntime() {",
        "function isCloudflareRuntime() {\n  return false"
      )
      if (patched === source) throw new Error(`pg's ${args.path} no longer has isCloudflareRuntime: review the patch`)
      return { contents: patched, loader: "js" }
    })
  }
}

/**
 * @effect/cli imports YAML, TOML and INI parsers for its file-reading options, which pipetrail has
 * none of: ~150 kB of the minified CLI that every command would compile. They are left out; a call
 * of one says why.
 */
const noConfigFileParsers = {
  name: "no-config-file-parsers",
  setup(build) {
    build.onResolve({ filter: /^(yaml|toml|ini)$/ }, (args) =>
      /[\\/]@effect[\\/]cli[\\/]/.test(args.importer) ? { path: args.path, namespace: "left-out" } : undefined
    )
    build.onLoad({ filter: /.*/, namespace: "left-out" }, (args) => ({
      contents: `export const parse = () => { throw new Error("pipetrail is built without @effect/cli's ${args.path} parser") }`,
      loader: "js"
    }))
  }
}

await rm(outdir, { recursive: true, force: true })
const result = await build({
  entryPoints: { cli: join(root, "dist", "bin.js") },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  // The ESM builds where a package has both (the AWS SDK): named exports survive dynamic import.
  mainFields: ["module", "main"],
  target: "node20",
  external: [...unbundled, ...unbundled.map((name) => `${name}/*`), "pg-native"],
  // Bundled CommonJS (pg, parts of the AWS SDK) calls require for Node's own modules.
  banner: {
    js: 'import { createRequire as __createRequire } from "node:module";\nconst require = __createRequire(import.meta.url);'
  },
  chunkNames: "chunks/[name]-[hash]",
  legalComments: "none",
  // Minified: V8 reads, parses and keeps a third of the text (--version: 85 -> 69 MB). The source
  // maps beside it give stack traces their names back under `node --enable-source-maps`.
  minify: true,
  sourcemap: "linked",
  plugins: [nodeOnlyPg, noConfigFileParsers],
  logLevel: "warning",
  metafile: process.env.BUNDLE_META !== undefined
})

/** The directory of `name` as resolved from `from`, and its package.json. */
const packageDir = async (name, from) => {
  let dir = dirname(createRequire(join(from, "package.json")).resolve(name))
  while (
    !(await readFile(join(dir, "package.json"), "utf8").then(
      () => true,
      () => false
    ))
  )
    dir = dirname(dir)
  for (;;) {
    const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8"))
    if (manifest.name === name) return { dir: await realpath(dir), manifest }
    dir = dirname(dir)
  }
}

/** Copies `name` and, recursively, its dependencies into the release's node_modules. */
const copied = new Map()
const copy = async (name, from) => {
  if (copied.has(name)) return
  const { dir, manifest } = await packageDir(name, from)
  copied.set(name, manifest.version)
  await cp(dir, join(outdir, "node_modules", name), { recursive: true, dereference: true })
  for (const dependency of Object.keys(manifest.dependencies ?? {})) await copy(dependency, dir)
}
for (const name of unbundled) await copy(name, root)

const manifest = {
  name: "pipetrail",
  version: own.version,
  description: own.description,
  license: own.license,
  type: "module",
  engines: own.engines,
  bin: { pipetrail: "pipetrail.js" },
  dependencies: Object.fromEntries(copied),
  bundleDependencies: [...copied.keys()]
}
await mkdir(outdir, { recursive: true })
await writeFile(join(outdir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`)

// The launcher: `--version` and `--help` answered with what the CLI itself prints, without loading it.
const printed = (flag) =>
  execFileSync(process.execPath, [join(outdir, "cli.js"), flag], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, FORCE_COLOR: "1" }
  })
const launcher = (await readFile(join(root, "scripts", "launcher.js"), "utf8"))
  .replace('"@VERSION@"', () => JSON.stringify(printed("--version")))
  .replace('"@HELP@"', () => JSON.stringify(printed("--help")))
await writeFile(join(outdir, "pipetrail.js"), launcher, { mode: 0o755 })

if (result.metafile !== undefined) await writeFile(process.env.BUNDLE_META, JSON.stringify(result.metafile))
