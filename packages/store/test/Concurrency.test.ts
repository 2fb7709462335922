import { assert, describe, it } from "@effect/vitest"
import { Database, Migrations, SnapshotStore } from "@pipetrail/store"
import { Effect, Layer, Redacted } from "effect"
import { doc, executionId, freshPostgresUrl, freshSource, postgresUrl } from "./utils.js"

const states = (id: string) => [
  doc(id),
  doc(id, { status: "Succeeded", lastUpdateTime: "2026-06-01T10:10:00.000Z" }),
  doc(id, {
    status: "Succeeded",
    lastUpdateTime: "2026-06-01T10:10:00.000Z",
    variables: [{ name: "BuildNumber", resolvedValue: "9" }]
  })
]

/** Every migration, in order: a new one is added here on purpose. */
const migrationNames = [
  "0001_snapshots",
  "0002_views",
  "0003_lookup_indexes",
  "0004_head_changed_at",
  "0005_head_list_index",
  "0006_snapshot_trigger_when",
  "0007_reader_role",
  "0008_rejected_response_http",
  "0009_observation_order",
  "0010_action_history"
]

const chunk = <A>(items: ReadonlyArray<A>, size: number) =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, i * size + size))

/** Two jobs fetch the same executions at the same time and record them in differently ordered batches. */
const race = (jobA: SnapshotStore.SnapshotStoreService, jobB: SnapshotStore.SnapshotStoreService) =>
  Effect.gen(function* () {
    const source = freshSource()
    const ids = Array.from({ length: 30 }, executionId)
    for (let round = 0; round < 3; round++) {
      // Both jobs fetch each state once, at their own times: every state is seen twice.
      const at = (job: number) => new Date(Date.UTC(2026, 5, 1, 10, round, job))
      const inputs = ids.map((id) => ({ source, document: states(id)[round]!, observedAt: at(0) }))
      const reversed = ids.map((id) => ({ source, document: states(id)[round]!, observedAt: at(1) })).reverse()
      yield* Effect.all(
        [
          Effect.forEach(chunk(inputs, 7), (batch) => jobA.recordMany(batch), { concurrency: 3 }),
          Effect.forEach(chunk(reversed, 5), (batch) => jobB.recordMany(batch), { concurrency: 3 })
        ],
        { concurrency: "unbounded" }
      )
    }
    return { source, ids }
  })

const check = (database: Database.DatabaseService, source: string, ids: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const rows = yield* Effect.promise(() =>
      database.kysely
        .selectFrom("execution_snapshot")
        .select(["pipeline_execution_id", "seq", "status", "seen_count"])
        .where("source", "=", source)
        .execute()
    )
    assert.strictEqual(rows.length, ids.length * 3)
    for (const row of rows) assert.strictEqual(row.seen_count, 2, `${row.pipeline_execution_id}#${row.seq}`)
    const seqs = new Map<string, Array<number>>()
    for (const row of rows)
      seqs.set(row.pipeline_execution_id, [...(seqs.get(row.pipeline_execution_id) ?? []), row.seq])
    for (const id of ids) assert.deepStrictEqual(seqs.get(id)!.sort(), [1, 2, 3])
  })

describe("concurrent writers", () => {
  it.live(
    "on PGlite: interleaved batches end with exactly one job's rows and exact seen counts",
    () =>
      Effect.gen(function* () {
        const context = yield* Layer.build(
          Layer.provideMerge(Layer.effect(SnapshotStore.SnapshotStore, SnapshotStore.make), Database.layerPglite())
        )
        const store = context.unsafeMap.get(SnapshotStore.SnapshotStore.key) as SnapshotStore.SnapshotStoreService
        const database = context.unsafeMap.get(Database.Database.key) as Database.DatabaseService
        const { source, ids } = yield* race(store, store)
        yield* check(database, source, ids)
      }).pipe(Effect.scoped, Effect.orDie),
    { timeout: 120_000 }
  )

  it.live.skipIf(postgresUrl === undefined)(
    "on PostgreSQL: two pools (separate connections) end with exactly one job's rows and exact seen counts",
    () =>
      Effect.gen(function* () {
        const { url } = yield* freshPostgresUrl
        const job = () =>
          Layer.build(
            Layer.provideMerge(
              Layer.effect(SnapshotStore.SnapshotStore, SnapshotStore.make),
              Database.layerPostgres({ url: Redacted.make(url), maxConnections: 4 })
            )
          )
        const [a, b] = yield* Effect.all([job(), job()], { concurrency: 2 })
        const storeA = a.unsafeMap.get(SnapshotStore.SnapshotStore.key) as SnapshotStore.SnapshotStoreService
        const storeB = b.unsafeMap.get(SnapshotStore.SnapshotStore.key) as SnapshotStore.SnapshotStoreService
        const database = a.unsafeMap.get(Database.Database.key) as Database.DatabaseService
        for (let i = 0; i < 3; i++) {
          const { source, ids } = yield* race(storeA, storeB)
          yield* check(database, source, ids)
        }
      }).pipe(Effect.scoped, Effect.orDie),
    { timeout: 120_000 }
  )
})

describe("migrations", () => {
  it.live.skipIf(postgresUrl === undefined)(
    "run twice concurrently on PostgreSQL without harm, each applied once",
    () =>
      Effect.gen(function* () {
        const { url } = yield* freshPostgresUrl
        const layers = Array.from({ length: 3 }, () => Layer.build(Database.layerPostgres({ url: Redacted.make(url) })))
        const contexts = yield* Effect.all(layers, { concurrency: "unbounded" })
        const database = contexts[0]!.unsafeMap.get(Database.Database.key) as Database.DatabaseService
        const status = yield* Migrations.status(database.kysely)
        assert.deepStrictEqual(
          status.map((m) => m.name),
          migrationNames
        )
        for (const m of status) assert.isDefined(m.executedAt)
        const again = yield* Migrations.migrateToLatest(database.kysely)
        assert.deepStrictEqual(again, [])
        const applied = yield* Effect.promise(() =>
          database.kysely
            .selectFrom("kysely_migration" as never)
            .select("name" as never)
            .execute()
        )
        assert.strictEqual(applied.length, status.length)
      }).pipe(Effect.scoped, Effect.orDie),
    { timeout: 120_000 }
  )

  it.live(
    "run twice concurrently on PGlite without harm",
    () =>
      Effect.gen(function* () {
        const context = yield* Layer.build(Database.layerPglite({ migrate: false }))
        const database = context.unsafeMap.get(Database.Database.key) as Database.DatabaseService
        const before = yield* Migrations.status(database.kysely)
        assert.isTrue(before.every((m) => m.executedAt === undefined))
        const results = yield* Effect.all(
          [Migrations.migrateToLatest(database.kysely), Migrations.migrateToLatest(database.kysely)],
          {
            concurrency: 2
          }
        )
        assert.deepStrictEqual([...results.flat()].sort(), migrationNames)
        const after = yield* Migrations.status(database.kysely)
        assert.isTrue(after.every((m) => m.executedAt !== undefined))
      }).pipe(Effect.scoped, Effect.orDie),
    { timeout: 120_000 }
  )
})
