// Builds the installable CLI in dist/release/: tsc's dist/bin.js and everything it imports bundled
// into pipetrail.js (chunks the commands load only when they need them: the AWS SDK, the emulator,
// the PostgreSQL driver), next to a package.json and the two dependencies that cannot be bundled
// (PGlite and libpg-query find their WASM and data files next to their own modules), copied in so
// that `npm pack` puts them in the tarball and `npm install --global` of it needs no registry.
import { cp, mkdir, readFile, realpath, rm, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

const root = fileURLToPath(new URL("..", import.meta.url))
const outdir = join(root, "dist", "release")
const own = JSON.parse(await readFile(join(root, "package.json"), "utf8"))
const unbundled = ["@electric-sql/pglite", "libpg-query"]

await rm(outdir, { recursive: true, force: true })
const result = await build({
  entryPoints: { pipetrail: join(root, "dist", "bin.js") },
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
if (result.metafile !== undefined) await writeFile(process.env.BUNDLE_META, JSON.stringify(result.metafile))
