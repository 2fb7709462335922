import { mkdtempSync, readdirSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Database, DatabaseError, SnapshotStore } from "@pipetrail/store"
import { Effect, Layer, Option, Redacted } from "effect"
import { doc, executionId, freshSource, later } from "./utils.js"

const storeOn = (database: Layer.Layer<Database.Database, DatabaseError.DatabaseError>) =>
  Layer.provideMerge(Layer.effect(SnapshotStore.SnapshotStore, SnapshotStore.make), database)

describe("Database", () => {
  it.live(
    "the embedded store is owner-only, file by file, after use, runs a 16 MB buffer pool, and survives a reopen",
    () =>
      Effect.gen(function* () {
        const dataDir = join(mkdtempSync(join(tmpdir(), "pipetrail-")), "nested", "pglite")
        const source = freshSource()
        const id = executionId()
        const sharedBuffers = yield* Effect.scoped(
          Effect.gen(function* () {
            const store = yield* SnapshotStore.SnapshotStore
            yield* store.record({ source, document: doc(id), observedAt: later() })
            const database = yield* Database.Database
            return (yield* database.queryReadOnly("show shared_buffers")).rows[0]?.[0]
          }).pipe(Effect.provide(storeOn(Database.layerPglite({ dataDir }))))
        )
        assert.strictEqual(sharedBuffers, "16MB")
        // Every directory 0700 and every file 0600, including what PostgreSQL wrote while open.
        const walk = (dir: string): Array<{ path: string; mode: number; directory: boolean }> =>
          readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
            const path = join(dir, entry.name)
            const here = { path, mode: statSync(path).mode & 0o777, directory: entry.isDirectory() }
            return entry.isDirectory() ? [here, ...walk(path)] : [here]
          })
        const entries = walk(dataDir)
        assert.isAbove(entries.length, 100)
        assert.strictEqual(statSync(dataDir).mode & 0o777, 0o700)
        for (const entry of entries) {
          assert.strictEqual(entry.mode, entry.directory ? 0o700 : 0o600, entry.path)
        }
        const latest = yield* Effect.scoped(
          Effect.gen(function* () {
            const store = yield* SnapshotStore.SnapshotStore
            return yield* store.latest({ pipelineExecutionId: id })
          }).pipe(Effect.provide(storeOn(Database.layerPglite({ dataDir }))))
        )
        assert.strictEqual<string>(Option.getOrThrow(latest).document.pipelineExecutionId, id)
      }).pipe(Effect.orDie),
    { timeout: 60_000 }
  )

  it.live(
    "never shows the password of a database URL in errors",
    () =>
      Effect.gen(function* () {
        const password = "s3cr3t-P@ss/word"
        const url = `postgres://pipetrail:${encodeURIComponent(password)}@127.0.0.1:1/pipetrail`
        const error = yield* Effect.flip(
          Effect.scoped(Layer.build(Database.layerPostgres({ url: Redacted.make(url) })))
        )
        assert.strictEqual(error._tag, "DatabaseError")
        const text = JSON.stringify(error) + String(error) + error.message + (error.detail ?? "")
        assert.notInclude(text, password)
        assert.notInclude(text, encodeURIComponent(password))
        assert.include(error.message, "ECONNREFUSED")
      }),
    { timeout: 30_000 }
  )

  it("redacts passwords in connection strings and known secrets", () => {
    assert.strictEqual(
      DatabaseError.redact("could not connect to postgres://app:hunter2@db:5432/x", ["hunter2"]),
      "could not connect to postgres://app:***@db:5432/x"
    )
    assert.strictEqual(DatabaseError.redact("password hunter2 leaked", ["hunter2"]), "password *** leaked")
  })
})
