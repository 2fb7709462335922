import { runInNewContext } from "node:vm"
import { assert, describe, it, layer } from "@effect/vitest"
import { ExecutionDocument } from "@pipetrail/core"
import { Database, Migrations, SnapshotStore, StoreCheck } from "@pipetrail/store"
import { Context, Effect, FastCheck as fc, Layer, Option } from "effect"
import { sql } from "kysely"
import {
  backends,
  batchesOf,
  doc,
  executionId,
  freshSource,
  storeLayer,
  type WriteScenario,
  writeScenario
} from "./utils.js"

// The store's contract: an execution's stored history equals the history obtained by applying all
// of its observations sorted by (observedAt, content hash, run), each distinct observation once,
// however they were batched, interleaved across writers or delayed.

/** The contents an execution moves between, back and forth (a retried stage makes a Failed V2 execution InProgress again). */
const variants = (id: string) => [
  doc(id),
  doc(id, { status: "Succeeded", lastUpdateTime: "2026-06-01T10:12:00.000Z" }),
  doc(id, { status: "Failed", lastUpdateTime: "2026-06-01T10:09:00.000Z" }),
  doc(id, { status: "InProgress", variables: [{ name: "BuildNumber", resolvedValue: "2" }] })
]

interface Observation {
  readonly execution: number
  readonly variant: number
  /** Minutes: few values, so equal timestamps are common. */
  readonly minute: number
  /** Index into the test's runs, or none. */
  readonly run: number | null
}

const observation = fc.record({
  execution: fc.nat(2),
  variant: fc.nat(3),
  minute: fc.nat(5),
  run: fc.constantFrom(null, 0, 1)
})

const scenario = writeScenario(observation)

type Scenario = WriteScenario<Observation>

interface State {
  readonly hash: string
  readonly status: string
  readonly firstSeenAt: number
  lastSeenAt: number
  seenCount: number
  readonly firstRunId: number | null
  lastRunId: number | null
}

/** The sequential replay, in memory: the history every write order must end with. */
const replay = (inputs: ReadonlyArray<SnapshotStore.RecordInput>) => {
  const moments = inputs.map((input) => ({
    input,
    hash: ExecutionDocument.contentHash(input.document),
    at: input.observedAt.getTime(),
    run: input.runId ?? null
  }))
  const sorted = moments.sort(
    (a, b) => a.at - b.at || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0) || (a.run ?? 0) - (b.run ?? 0)
  )
  const histories = new Map<string, Array<State>>()
  const seen = new Set<string>()
  for (const m of sorted) {
    const id = m.input.document.pipelineExecutionId as string
    const identity = JSON.stringify([id, m.at, m.hash, m.run])
    if (seen.has(identity)) continue
    seen.add(identity)
    const states = histories.get(id) ?? []
    histories.set(id, states)
    const last = states.at(-1)
    if (last !== undefined && last.hash === m.hash) {
      last.seenCount++
      last.lastSeenAt = m.at
      last.lastRunId = m.run
    } else {
      states.push({
        hash: m.hash,
        status: m.input.document.status,
        firstSeenAt: m.at,
        lastSeenAt: m.at,
        seenCount: 1,
        firstRunId: m.run,
        lastRunId: m.run
      })
    }
  }
  return histories
}

const iso = (ms: number) => new Date(ms).toISOString()

/** Everything the store says about a source's executions, without row ids or the source label. */
const storedOf = (db: Database.DatabaseService, source: string) =>
  Effect.promise(async () => {
    const k = db.kysely
    const snapshots = await sql<Record<string, unknown>>`
      select pipeline_execution_id, seq, content_hash, status, first_seen_at, last_seen_at, seen_count, first_run_id, last_run_id
      from execution_snapshot where source = ${source} order by pipeline_execution_id, seq
    `.execute(k)
    const heads = await sql<Record<string, unknown>>`
      select h.pipeline_execution_id, h.seq, h.content_hash, h.status, h.start_time, h.changed_at, s.seq as snapshot_seq
      from execution_head h join execution_snapshot s on s.id = h.snapshot_id
      where h.source = ${source} order by h.pipeline_execution_id
    `.execute(k)
    const transitions = await sql<Record<string, unknown>>`
      select pipeline_execution_id, seq, from_status, to_status, observed_at
      from status_transition where source = ${source} order by pipeline_execution_id, seq
    `.execute(k)
    const latest = await sql<Record<string, unknown>>`
      select pipeline_execution_id, state_count, status, content_hash, first_seen_at, last_seen_at, seen_count
      from latest_execution where source = ${source} order by pipeline_execution_id
    `.execute(k)
    const normalize = (rows: ReadonlyArray<Record<string, unknown>>) =>
      rows.map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([key, value]) => [
            key,
            value instanceof Date ? value.toISOString() : typeof value === "bigint" ? Number(value) : value
          ])
        )
      )
    return {
      snapshots: normalize(snapshots.rows).map((r) => ({
        ...r,
        first_run_id: r.first_run_id === null ? null : Number(r.first_run_id),
        last_run_id: r.last_run_id === null ? null : Number(r.last_run_id)
      })),
      heads: normalize(heads.rows),
      transitions: normalize(transitions.rows),
      latest: normalize(latest.rows)
    }
  })

for (const backend of backends) {
  describe(`observation order on ${backend.name}`, () => {
    layer(storeLayer(backend.database), { timeout: 300_000, excludeTestServices: true })((it) => {
      it.effect(
        "any write order, batching, 1–4 concurrent writers and retried batches give the history of the sorted sequential replay",
        () =>
          Effect.gen(function* () {
            const store = yield* SnapshotStore.SnapshotStore
            const db = yield* Database.Database
            const runs = [yield* store.startRun("order-test", {}), yield* store.startRun("order-test", {})]
            const check = (written: Scenario) =>
              Effect.gen(function* () {
                const { observations, retried } = written
                const ids = [executionId(), executionId(), executionId()]
                const contents = ids.map(variants)
                const base = Date.UTC(2026, 5, 1, 10)
                const inputsFor = (source: string) =>
                  observations.map(
                    (o): SnapshotStore.RecordInput => ({
                      source,
                      document: contents[o.execution]![o.variant]!,
                      observedAt: new Date(base + o.minute * 60_000),
                      ...(o.run === null ? {} : { runId: runs[o.run]! })
                    })
                  )

                // The reference: every observation recorded alone, in observation order.
                const reference = freshSource()
                const expected = replay(inputsFor(reference))
                const sorted = inputsFor(reference)
                  .map((input) => ({ input, hash: ExecutionDocument.contentHash(input.document) }))
                  .sort(
                    (a, b) =>
                      a.input.observedAt.getTime() - b.input.observedAt.getTime() ||
                      (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0) ||
                      (a.input.runId ?? 0) - (b.input.runId ?? 0)
                  )
                let fresh = 0
                for (const { input } of sorted) {
                  const result = yield* store.record(input)
                  if (result.outcome === "new") fresh++
                }
                const states = [...expected.values()].reduce((n, s) => n + s.length, 0)
                assert.strictEqual(fresh, states, "in order, each state starts with one new observation")

                // The same observations, shuffled, cut into batches and spread over concurrent writers.
                const source = freshSource()
                const inputs = inputsFor(source)
                const batches = batchesOf(written, inputs)
                const byWriter = [0, 1, 2, 3].map((w) => batches.filter((b) => b.writer === w))
                yield* Effect.forEach(
                  byWriter,
                  (mine) => Effect.forEach(mine, (batch) => store.recordMany(batch.items), { discard: true }),
                  { concurrency: "unbounded", discard: true }
                )

                // Then some batches written again, as a retry after a lost commit acknowledgement does.
                yield* Effect.forEach(
                  batches.filter((_, b) => retried[b]),
                  (batch) => store.recordMany(batch.items),
                  { discard: true }
                )

                const [want, got] = yield* Effect.all([storedOf(db, reference), storedOf(db, source)])
                assert.deepStrictEqual(got, want)
                // And both are the in-memory replay.
                const modelRows = [...expected.entries()]
                  .sort(([a], [b]) => (a < b ? -1 : 1))
                  .flatMap(([id, history]) =>
                    history.map((s, i) => ({
                      pipeline_execution_id: id,
                      seq: i + 1,
                      content_hash: s.hash,
                      status: s.status,
                      first_seen_at: iso(s.firstSeenAt),
                      last_seen_at: iso(s.lastSeenAt),
                      seen_count: s.seenCount,
                      first_run_id: s.firstRunId,
                      last_run_id: s.lastRunId
                    }))
                  )
                assert.deepStrictEqual(got.snapshots, modelRows)
              })
            yield* Effect.promise(() =>
              fc.assert(
                fc.asyncProperty(scenario, (s) => Effect.runPromise(check(s))),
                { numRuns: 30 }
              )
            )
          })
      )
    })
  })
}

const at = (minute: number) => new Date(Date.UTC(2026, 5, 1, 10, minute))

for (const backend of backends) {
  describe(`late observations on ${backend.name}`, () => {
    layer(storeLayer(backend.database), { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect("a slow job's older fetch never turns InProgress → Succeeded into a regression", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const db = yield* Database.Database
          const source = freshSource()
          const id = executionId()
          const [inProgress, succeeded] = variants(id)
          // The fast job saw Succeeded at 10:05 and wrote first; the slow one saw InProgress at 10:01.
          yield* store.record({ source, document: succeeded!, observedAt: at(5) })
          const late = yield* store.record({ source, document: inProgress!, observedAt: at(1) })
          assert.deepStrictEqual([late.outcome, late.seq], ["new", 1])
          const history = yield* store.history({ pipelineExecutionId: id })
          assert.deepStrictEqual(
            history.map((h) => [h.snapshot.seq, h.snapshot.status, h.snapshot.firstSeenAt.toISOString()]),
            [
              [1, "InProgress", at(1).toISOString()],
              [2, "Succeeded", at(5).toISOString()]
            ]
          )
          const head = (yield* store.heads(source))[0]!
          assert.deepStrictEqual([head.status, head.seq], ["Succeeded", 2])
          const transitions = yield* Effect.promise(() =>
            db.kysely
              .selectFrom("status_transition")
              .select(["from_status", "to_status"])
              .where("source", "=", source)
              .orderBy("seq")
              .execute()
          )
          assert.deepStrictEqual(transitions, [
            { from_status: null, to_status: "InProgress" },
            { from_status: "InProgress", to_status: "Succeeded" }
          ])
          // An older sighting of the state that was current then extends it and moves nothing.
          const again = yield* store.record({ source, document: inProgress!, observedAt: at(0) })
          assert.deepStrictEqual([again.outcome, again.seq, again.snapshotId], ["unchanged", 1, late.snapshotId])
          const first = (yield* store.history({ pipelineExecutionId: id }))[0]!.snapshot
          assert.deepStrictEqual(
            [first.firstSeenAt.toISOString(), first.lastSeenAt.toISOString(), first.seenCount],
            [at(0).toISOString(), at(1).toISOString(), 2]
          )
        })
      )

      it.effect("an observation inside another state's interval splits it where its time falls", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const source = freshSource()
          const id = executionId()
          const [a, , failed] = variants(id)
          const first = yield* store.recordMany([
            { source, document: a!, observedAt: at(1) },
            { source, document: a!, observedAt: at(3) },
            { source, document: a!, observedAt: at(5) }
          ])
          const split = yield* store.record({ source, document: failed!, observedAt: at(4) })
          assert.strictEqual(split.outcome, "new")
          const history = yield* store.history({ pipelineExecutionId: id })
          assert.deepStrictEqual(
            history.map((h) => [
              h.snapshot.seq,
              h.snapshot.status,
              h.snapshot.firstSeenAt.toISOString(),
              h.snapshot.lastSeenAt.toISOString(),
              h.snapshot.seenCount
            ]),
            [
              [1, "InProgress", at(1).toISOString(), at(3).toISOString(), 2],
              [2, "Failed", at(4).toISOString(), at(4).toISOString(), 1],
              [3, "InProgress", at(5).toISOString(), at(5).toISOString(), 1]
            ]
          )
          // The row that held the state keeps its first part; the same content after the split is a new row.
          assert.strictEqual(history[0]!.snapshot.id, first[0]!.snapshotId)
          assert.notStrictEqual(history[2]!.snapshot.id, first[0]!.snapshotId)
          assert.strictEqual(history[2]!.snapshot.contentHash, history[0]!.snapshot.contentHash)
          // Written again (a retried batch), the same observations change nothing.
          yield* store.recordMany([
            { source, document: failed!, observedAt: at(4) },
            { source, document: a!, observedAt: at(1) }
          ])
          const after = yield* store.history({ pipelineExecutionId: id })
          assert.deepStrictEqual(
            after.map((h) => [h.snapshot.id, h.snapshot.seq, h.snapshot.seenCount]),
            history.map((h) => [h.snapshot.id, h.snapshot.seq, h.snapshot.seenCount])
          )
        })
      )
    })
  })
}

/** A PGlite store as migration 0008 left it, to write what writers before 0009 wrote. */
const storeAt0008 = Effect.gen(function* () {
  const context = yield* Layer.build(Database.layerPglite({ migrate: false }))
  const db = Context.get(context, Database.Database)
  yield* Migrations.migrateTo(db.kysely, "0008_rejected_response_http")
  return db
})

/** One state as a writer before 0009 stored it. */
interface LegacyRow {
  readonly document: ExecutionDocument.ExecutionDocument
  /** A Date, or a timestamp text (for precisions a Date does not have). */
  readonly first: Date | string
  readonly last: Date | string
  readonly count: number
  readonly firstRunId?: number
}

/** Writes an execution's states in the given order (seq 1, 2, …) and its head, as before 0009; returns the row ids. */
const writeLegacy = (db: Database.DatabaseService, source: string, id: string, rows: ReadonlyArray<LegacyRow>) =>
  Effect.promise(async () => {
    const ids: Array<number> = []
    for (const [i, row] of rows.entries()) {
      const inserted = await sql<{ id: number }>`
        insert into execution_snapshot (source, pipeline_name, pipeline_execution_id, seq, pipeline_version, status,
          document, content_hash, first_seen_at, last_seen_at, seen_count, first_run_id)
        values (${source}, 'payments-api', ${id}, ${i + 1}, 3, ${row.document.status},
          ${ExecutionDocument.canonicalJson(row.document)}::jsonb, ${ExecutionDocument.contentHash(row.document)},
          ${row.first}::timestamptz, ${row.last}::timestamptz, ${row.count}, ${row.firstRunId ?? null})
        returning id
      `.execute(db.kysely)
      ids.push(Number(inserted.rows[0]!.id))
    }
    const head = rows.at(-1)!
    await sql`
      insert into execution_head (source, pipeline_name, pipeline_execution_id, seq, snapshot_id, content_hash, status, changed_at)
      values (${source}, 'payments-api', ${id}, ${rows.length}, ${ids.at(-1)!}, ${ExecutionDocument.contentHash(head.document)},
        ${head.document.status}, ${head.first}::timestamptz)
    `.execute(db.kysely)
    return ids
  })

describe("upgrading a store from before observation order", () => {
  it.live("seeds each state's first and last sightings, then places late observations among them", () =>
    Effect.gen(function* () {
      const db = yield* storeAt0008
      const source = freshSource()
      const id = executionId()
      const [a, b, c] = variants(id).map((document) => ({ document, hash: ExecutionDocument.contentHash(document) }))
      // What the writer before 0009 left: A seen 3 times (10:01, one unknown time, 10:05), then B once.
      const runId = yield* Effect.promise(() =>
        sql<{ id: number }>`insert into snapshot_run (source) values (${source}) returning id`
          .execute(db.kysely)
          .then((r) => Number(r.rows[0]!.id))
      )
      yield* writeLegacy(db, source, id, [
        { document: a!.document, first: at(1), last: at(5), count: 3, firstRunId: runId },
        { document: b!.document, first: at(6), last: at(6), count: 1 }
      ])
      yield* Migrations.migrateToLatest(db.kysely)
      const log = yield* Effect.promise(() =>
        sql<{ observed_at: Date; content_hash: string; seen: number; has_run: boolean }>`
          select o.observed_at, o.content_hash, o.seen, o.run_id is not null as has_run
          from execution_observation o join execution_head h on h.id = o.head_id
          where h.source = ${source} order by o.observed_at
        `.execute(db.kysely)
      )
      assert.deepStrictEqual(
        log.rows.map((r) => [r.observed_at.toISOString(), r.content_hash, r.seen, r.has_run]),
        [
          [at(1).toISOString(), a!.hash, 1, true],
          [at(5).toISOString(), a!.hash, 2, false],
          [at(6).toISOString(), b!.hash, 1, false]
        ]
      )
      // A late Failed at 10:03 splits A: the unknown middle sighting was counted at 10:05.
      const store = yield* SnapshotStore.make.pipe(Effect.provideService(Database.Database, db))
      yield* store.record({ source, document: c!.document, observedAt: at(3) })
      const history = yield* store.history({ pipelineExecutionId: id })
      assert.deepStrictEqual(
        history.map((h) => [h.snapshot.status, h.snapshot.firstSeenAt.toISOString(), h.snapshot.seenCount]),
        [
          ["InProgress", at(1).toISOString(), 1],
          ["Failed", at(3).toISOString(), 1],
          ["InProgress", at(5).toISOString(), 2],
          ["Succeeded", at(6).toISOString(), 1]
        ]
      )
    }).pipe(Effect.scoped, Effect.orDie)
  )
})

describe("upgrading a store whose writer applied observations in write order", () => {
  it.live("re-sorts each history into observation order, merging rows left with one content in one state", () =>
    Effect.gen(function* () {
      const db = yield* storeAt0008
      const source = freshSource()
      const id = executionId()
      const [a, b] = variants(id).map((document) => ({ document, hash: ExecutionDocument.contentHash(document) }))
      // Two jobs before 0009: InProgress seen 10:00, Succeeded 10:05, then InProgress seen 10:03 written last.
      const ids = yield* writeLegacy(db, source, id, [
        { document: a!.document, first: at(0), last: at(0), count: 1 },
        { document: b!.document, first: at(5), last: at(5), count: 1 },
        { document: a!.document, first: at(3), last: at(3), count: 1 }
      ])
      yield* Migrations.migrateToLatest(db.kysely)
      const store = yield* SnapshotStore.make.pipe(Effect.provideService(Database.Database, db))
      const shown = () =>
        Effect.map(store.history({ pipelineExecutionId: id }), (history) =>
          history.map((h) => [
            h.snapshot.id,
            h.snapshot.status,
            h.snapshot.firstSeenAt.toISOString(),
            h.snapshot.lastSeenAt.toISOString(),
            h.snapshot.seenCount
          ])
        )
      assert.deepStrictEqual(yield* shown(), [
        [ids[0], "InProgress", at(0).toISOString(), at(3).toISOString(), 2],
        [ids[1], "Succeeded", at(5).toISOString(), at(5).toISOString(), 1]
      ])
      assert.deepStrictEqual(
        (yield* store.heads(source)).map((h) => [h.status, h.seq]),
        [["Succeeded", 2]]
      )
      const problems = (yield* StoreCheck.run.pipe(Effect.provideService(Database.Database, db))).filter(
        (r) => r.problems > 0
      )
      assert.deepStrictEqual(problems, [])
      // Late and repeated observations of it are taken as of any other execution.
      yield* store.record({ source, document: a!.document, observedAt: at(1) })
      yield* store.record({ source, document: b!.document, observedAt: at(5) })
      assert.deepStrictEqual(yield* shown(), [
        [ids[0], "InProgress", at(0).toISOString(), at(3).toISOString(), 3],
        [ids[1], "Succeeded", at(5).toISOString(), at(5).toISOString(), 1]
      ])
    }).pipe(Effect.scoped, Effect.orDie)
  )
})

for (const backend of backends) {
  describe(`observations refused before any write on ${backend.name}`, () => {
    layer(storeLayer(backend.database), { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect("an impossible time, source or run is a typed error naming the value; the batch writes nothing", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const source = freshSource()
          const id = executionId()
          const document = variants(id)[0]!
          const good = { source, document, observedAt: at(1) }
          for (const [field, bad] of [
            ["observedAt", { ...good, observedAt: new Date(Number.NaN) }],
            ["observedAt", { ...good, observedAt: new Date(Date.UTC(1960, 0, 1)) }],
            ["observedAt", { ...good, observedAt: new Date(Date.UTC(10_000, 0, 1)) }],
            ["observedAt", { ...good, observedAt: "2026-06-01T10:00:00Z" as unknown as Date }],
            ["observedAt", { ...good, observedAt: Object.create(Date.prototype) as Date }],
            [
              "observedAt",
              {
                ...good,
                // A subclass that lies about its time: the time it really holds (year 50) is what counts.
                observedAt: new (class extends Date {
                  override getTime() {
                    return Date.UTC(2026, 0, 1)
                  }
                })(Date.UTC(50, 0, 1))
              }
            ],
            ["source", { ...good, source: "" }],
            ["source", { ...good, source: "aws:1\u0000x" }],
            ["runId", { ...good, runId: 0 }],
            ["runId", { ...good, runId: 1.5 }]
          ] as const) {
            const error = yield* Effect.flip(store.recordMany([good, bad]))
            assert.strictEqual(error._tag, "InvalidObservationError", field)
            if (error._tag === "InvalidObservationError") {
              assert.strictEqual(error.field, field)
              assert.include(error.message, id)
            }
          }
          assert.isTrue(Option.isNone(yield* store.latest({ pipelineExecutionId: id, source })))
          // A Date from another realm is a Date.
          const foreign = runInNewContext("new Date(Date.UTC(2026, 5, 1, 10, 2))") as Date
          yield* store.record({ ...good, observedAt: foreign })
          assert.strictEqual(
            (yield* store.history({ pipelineExecutionId: id, source }))[0]!.snapshot.firstSeenAt.toISOString(),
            at(2).toISOString()
          )
          // A run that does not exist is refused when written, so it can never jam a later write.
          const noRun = yield* Effect.flip(store.recordMany([{ ...good, runId: 987_654_321 }]))
          assert.strictEqual(noRun._tag, "DatabaseError")
          assert.include(`${noRun.message} ${"detail" in noRun ? noRun.detail : ""}`, "987654321")
          yield* store.record({ ...good, observedAt: at(5) })
          yield* store.record({ source, document: variants(id)[1]!, observedAt: at(3) })
          // InProgress 10:02 (the foreign Date), Succeeded 10:03, InProgress 10:05.
          assert.deepStrictEqual(
            (yield* store.history({ pipelineExecutionId: id, source })).map((h) => h.snapshot.status),
            ["InProgress", "Succeeded", "InProgress"]
          )
        })
      )
    })
  })
}

describe("upgrading any pre-0009 history", () => {
  it.live("gives, for every execution, the replay of its kept sightings, and a store that checks clean", () =>
    Effect.gen(function* () {
      const db = yield* storeAt0008
      const source = freshSource()
      // What writers before 0009 could leave: states in write order, neighbours of different
      // content, each with a first and last sighting (first ≤ last) and a count, times in any order.
      const legacy = fc.array(
        fc.record({
          variant: fc.nat(3),
          first: fc.nat(9),
          length: fc.nat(3),
          count: fc.integer({ min: 1, max: 3 }),
          // What no writer wrote but a store may hold: microseconds, an interval the wrong way round,
          // one sighting with two times (checked below), neighbours with the same content.
          micro: fc.constantFrom(0, 0, 0, 300, 999),
          reversed: fc.boolean()
        }),
        { minLength: 1, maxLength: 6 }
      )
      const histories = fc.sample(legacy, { numRuns: 40, seed: 9 })
      const executions = histories.map((rows) => ({ id: executionId(), rows }))
      const stamp = (minute: number, micro: number) =>
        `${at(minute).toISOString().slice(0, -1)}${String(micro).padStart(3, "0")}Z`
      const ends = (row: (typeof histories)[number][number]) => {
        const a = row.first
        const b = row.first + row.length
        return row.reversed ? [b, a] : [a, b]
      }
      for (const { id, rows } of executions) {
        const contents = variants(id)
        yield* writeLegacy(
          db,
          source,
          id,
          rows.map((row) => ({
            document: contents[row.variant]!,
            first: stamp(ends(row)[0]!, row.micro),
            last: stamp(ends(row)[1]!, row.micro),
            count: row.count
          }))
        )
      }
      yield* Migrations.migrateToLatest(db.kysely)
      const store = yield* SnapshotStore.make.pipe(Effect.provideService(Database.Database, db))
      for (const { id, rows } of executions) {
        const contents = variants(id)
        // The model: times at millisecond precision, each interval the right way round; a state's
        // first sighting and the rest of its count at its last (one sighting: its first), replayed in order.
        const sightings = rows.flatMap((row) => {
          const hash = ExecutionDocument.contentHash(contents[row.variant]!)
          const [x, y] = ends(row)
          const first = at(Math.min(x!, y!)).getTime()
          const last = at(Math.max(x!, y!)).getTime()
          return row.count === 1
            ? [{ at: first, hash, seen: 1 }]
            : [
                { at: first, hash, seen: 1 },
                { at: last, hash, seen: row.count - 1 }
              ]
        })
        sightings.sort((a, b) => a.at - b.at || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0))
        const expected: Array<{ hash: string; first: number; last: number; seen: number }> = []
        for (const s of sightings) {
          const last = expected.at(-1)
          if (last !== undefined && last.hash === s.hash) {
            last.last = s.at
            last.seen += s.seen
          } else expected.push({ hash: s.hash, first: s.at, last: s.at, seen: s.seen })
        }
        const history = yield* store.history({ pipelineExecutionId: id, source })
        assert.deepStrictEqual(
          history.map((h) => [
            h.snapshot.seq,
            h.snapshot.contentHash,
            h.snapshot.firstSeenAt.getTime(),
            h.snapshot.lastSeenAt.getTime(),
            h.snapshot.seenCount
          ]),
          expected.map((s, i) => [i + 1, s.hash, s.first, s.last, s.seen]),
          JSON.stringify(rows)
        )
      }
      const problems = (yield* StoreCheck.run.pipe(Effect.provideService(Database.Database, db))).filter(
        (r) => r.problems > 0
      )
      assert.deepStrictEqual(problems, [])
    }).pipe(Effect.scoped, Effect.orDie)
  )
})
