import { mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Database, DatabaseError, Migrations, SnapshotStore } from "@pipetrail/store"
import { Cause, Config, ConfigProvider, Context, Effect, FastCheck as fc, Layer, Option, Redacted } from "effect"
import { backends, doc, executionId, freshPostgresUrl, freshSource, later, postgresUrl, storeLayer } from "./utils.js"

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
        // The driver's own error is kept as the cause, and shown by Cause.pretty, redacted too.
        const pretty = Cause.pretty(Cause.fail(error), { renderErrorCause: true })
        assert.include(pretty, "[cause]: Error: connect ECONNREFUSED")
        assert.strictEqual((error.cause as { readonly code?: string } | undefined)?.code, "ECONNREFUSED")
        assert.notInclude(pretty, password)
      }),
    { timeout: 30_000 }
  )

  it("keeps a driver error's fields as the cause, every secret in them redacted", () => {
    fc.assert(
      fc.property(
        // Prefixed so that a short password cannot be a word the output holds anyway ("fro" in "from").
        fc
          .string({ minLength: 1, maxLength: 20 })
          .filter((p) => !/[\s@/:?#*]/.test(p))
          .map((p) => `S3cr3t${p}`),
        (password) => {
          const url = `postgres://app:${password}@db:5432/x`
          const driver = Object.assign(new Error(`could not connect to ${url}`), {
            code: "28P01",
            detail: `password ${password} was refused`,
            severity: "FATAL",
            routine: "auth_failed",
            client: { connectionString: url }
          })
          driver.stack = `Error: could not connect to ${url}\n    at connect (pg/lib/client.js:1:1)`
          const error = DatabaseError.fromCause("connect", driver, [password])
          const cause = error.cause as Error & Record<string, unknown>
          assert.strictEqual(cause.code, "28P01")
          assert.strictEqual(cause.severity, "FATAL")
          assert.strictEqual(cause.routine, "auth_failed")
          assert.isUndefined(cause.client)
          const everything = `${JSON.stringify(error)} ${Cause.pretty(Cause.fail(error), { renderErrorCause: true })} ${cause.stack}`
          assert.notInclude(everything, password)
          assert.include(everything, "auth_failed")
        }
      ),
      { numRuns: 100 }
    )
  })

  it("redacts passwords in connection strings and known secrets", () => {
    assert.strictEqual(
      DatabaseError.redact("could not connect to postgres://app:hunter2@db:5432/x", ["hunter2"]),
      "could not connect to postgres://app:***@db:5432/x"
    )
    assert.strictEqual(DatabaseError.redact("password hunter2 leaked", ["hunter2"]), "password *** leaked")
  })
})

// Invariant: a bigint reads the same on both backends: the store's ids as numbers (kysely), and a
// user's SQL exactly, as decimal text, whatever its size.
for (const backend of backends) {
  describe(`bigints on ${backend.name}`, () => {
    it.live(
      "the store's ids are numbers, and a user's bigints come back digit for digit",
      () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const database = yield* Database.Database
          const source = freshSource()
          yield* store.record({ source, document: doc(executionId()), observedAt: later() })
          const ids = yield* database.use("ids", (k) =>
            k.selectFrom("execution_snapshot").select(["id", "first_run_id"]).where("source", "=", source).execute()
          )
          assert.strictEqual(typeof ids[0]?.id, "number")
          const counted = yield* database.use("count", (k) =>
            k
              .selectFrom("execution_snapshot")
              .select((e) => e.fn.countAll().as("n"))
              .executeTakeFirstOrThrow()
          )
          assert.strictEqual(typeof counted.n, "number")
          const values = fc.sample(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { numRuns: 40, seed: 15 })
          const result = yield* database.queryReadOnly(
            `select ${[...values, 2n ** 53n + 1n].map((v) => `${v}::bigint`).join(", ")}, id from execution_snapshot where id = ${ids[0]!.id}`
          )
          assert.deepStrictEqual(result.rows[0], [...values, 2n ** 53n + 1n, BigInt(ids[0]!.id)].map(String))
        }).pipe(Effect.provide(storeLayer(backend.database))),
      { timeout: 60_000 }
    )
  })
}

describe("the embedded store's lock file", () => {
  it.live(
    "a symbolic link planted as the lock file is replaced, never followed: the file it points to is untouched",
    () =>
      Effect.gen(function* () {
        const base = mkdtempSync(join(tmpdir(), "pipetrail-"))
        const dataDir = join(base, "store")
        const victim = join(base, "victim")
        writeFileSync(victim, "IMPORTANT\n", { mode: 0o644 })
        yield* Effect.scoped(Layer.build(Database.layerPglite({ dataDir })))
        symlinkSync(victim, join(dataDir, ".pipetrail.lock"))
        yield* Effect.scoped(Layer.build(Database.layerPglite({ dataDir })))
        assert.strictEqual(readFileSync(victim, "utf8"), "IMPORTANT\n")
        assert.strictEqual(statSync(victim).mode & 0o777, 0o644)
      }).pipe(Effect.orDie),
    { timeout: 60_000 }
  )
})

describe("Database.layerTest", () => {
  it.live(
    "each test store starts empty and migrated, and is a store of its own",
    () =>
      Effect.gen(function* () {
        const id = executionId()
        const use = <A, E>(f: Effect.Effect<A, E, SnapshotStore.SnapshotStore | Database.Database>) =>
          Effect.scoped(Effect.provide(f, storeOn(Database.layerTest())))
        for (let i = 0; i < 3; i++) {
          const seen = yield* use(
            Effect.gen(function* () {
              const database = yield* Database.Database
              const status = yield* Migrations.status(database.kysely)
              assert.isTrue(status.every((m) => m.executedAt !== undefined))
              const store = yield* SnapshotStore.SnapshotStore
              const before = yield* store.list({})
              yield* store.record({ source: freshSource(), document: doc(id), observedAt: later() })
              return before.length
            })
          )
          // What the previous one recorded is not here.
          assert.strictEqual(seen, 0)
        }
      }).pipe(Effect.orDie),
    { timeout: 120_000 }
  )
})

describe("Database.layerConfig", () => {
  it.live(
    "opens the store its Config names: the caller's own key for PostgreSQL, the default names for the embedded store",
    () =>
      Effect.gen(function* () {
        const dataDir = join(mkdtempSync(join(tmpdir(), "pipetrail-")), "store")
        const kindWith = (layer: Layer.Layer<Database.Database, unknown>, keys: Map<string, string>) =>
          Effect.scoped(Effect.map(Layer.build(layer), (context) => Context.get(context, Database.Database).kind)).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(keys))
          )
        assert.strictEqual(
          yield* kindWith(Database.layerConfig(), new Map([["PIPETRAIL_DATA_DIR", dataDir]])),
          "pglite"
        )
        assert.isTrue(statSync(join(dataDir, "PG_VERSION")).isFile())
        if (postgresUrl !== undefined) {
          const kind = yield* Effect.scoped(
            Effect.flatMap(freshPostgresUrl, ({ url }) =>
              kindWith(Database.layerConfig({ url: Config.redacted("MY_DATABASE") }), new Map([["MY_DATABASE", url]]))
            )
          )
          assert.strictEqual(kind, "postgres")
        }
        const missing = yield* Effect.flip(
          kindWith(Database.layerConfig({ url: Config.redacted("MY_DATABASE") }), new Map())
        )
        assert.include(String(missing), "MY_DATABASE")
      }).pipe(Effect.orDie),
    { timeout: 60_000 }
  )
})
