import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

// Invariant: an app sees each package's public modules, with or without `.js`, and never its
// internals or the store's migrations; resolved by Node itself from this package, as an app's
// imports are.
describe("the packages' exports, as an app resolves them", () => {
  const resolve = (specifier: string) => {
    const probe = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import(${JSON.stringify(specifier)}).then(() => console.log("ok"), (e) => console.log(e.code))`
      ],
      { cwd: fileURLToPath(new URL(".", import.meta.url)), encoding: "utf8", timeout: 60_000 }
    )
    return probe.stdout.trim()
  }

  it("public modules resolve; internals and migrations do not", () => {
    for (const specifier of [
      "@pipetrail/core",
      "@pipetrail/core/Identifiers",
      "@pipetrail/core/Identifiers.js",
      "@pipetrail/store",
      "@pipetrail/store/SnapshotJob",
      "@pipetrail/store/Database.js",
      "@pipetrail/emulator"
    ]) {
      assert.strictEqual(resolve(specifier), "ok", specifier)
    }
    for (const specifier of [
      "@pipetrail/core/internal/sdkError",
      "@pipetrail/core/internal/sdkError.js",
      "@pipetrail/store/internal/session",
      "@pipetrail/store/migrations/0001_snapshots",
      "@pipetrail/store/migrations/0001_snapshots.js",
      "@pipetrail/emulator/internal/wire"
    ]) {
      assert.strictEqual(resolve(specifier), "ERR_PACKAGE_PATH_NOT_EXPORTED", specifier)
    }
  })
})
