import { assert, describe, it, layer } from "@effect/vitest"
import { Identifiers } from "@pipetrail/core"
import { Database, SnapshotStore } from "@pipetrail/store"
import { Effect, Exit, Option } from "effect"
import { sql } from "kysely"
import { backends, doc, executionId, freshSource, pipelineName, storeLayer } from "./utils.js"

const t = (minutes: number) => new Date(Date.UTC(2026, 5, 1, 10, minutes))

for (const backend of backends) {
  describe(`SnapshotStore on ${backend.name}`, () => {
    layer(storeLayer(backend.database), { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect("stores identical fetches once and counts them", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const { kysely } = yield* Database.Database
          const source = freshSource()
          const id = executionId()
          const results = yield* Effect.forEach([1, 2, 3], (m) =>
            store.record({ source, document: doc(id), observedAt: t(m) })
          )
          assert.deepStrictEqual(
            results.map((r) => r.outcome),
            ["new", "unchanged", "unchanged"]
          )
          assert.strictEqual(new Set(results.map((r) => r.snapshotId)).size, 1)
          const rows = yield* Effect.promise(() =>
            kysely.selectFrom("execution_snapshot").selectAll().where("source", "=", source).execute()
          )
          assert.strictEqual(rows.length, 1)
          assert.strictEqual(rows[0]!.seen_count, 3)
          assert.strictEqual(rows[0]!.first_seen_at.toISOString(), t(1).toISOString())
          assert.strictEqual(rows[0]!.last_seen_at.toISOString(), t(3).toISOString())
          assert.strictEqual(rows[0]!.status, "InProgress")
          assert.strictEqual(rows[0]!.trigger_type, "Webhook")
          assert.strictEqual(rows[0]!.start_time?.toISOString(), "2026-06-01T10:00:00.000Z")
          assert.match(rows[0]!.content_hash, /^[0-9a-f]{64}$/)
        })
      )

      it.effect("writes a new row for every real change, with the history of changes", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const source = freshSource()
          const id = executionId()
          const states = [
            doc(id),
            doc(id, { status: "Succeeded", lastUpdateTime: "2026-06-01T10:12:00.000Z" }),
            doc(id, {
              status: "Succeeded",
              lastUpdateTime: "2026-06-01T10:12:00.000Z",
              artifactRevisions: [{ name: "SourceArtifact", revisionId: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }]
            }),
            doc(id, {
              status: "Succeeded",
              lastUpdateTime: "2026-06-01T10:12:00.000Z",
              artifactRevisions: [{ name: "SourceArtifact", revisionId: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }],
              variables: [{ name: "BuildNumber", resolvedValue: "2" }]
            })
          ]
          for (const [i, document] of states.entries()) {
            yield* store.record({ source, document, observedAt: t(2 * i) })
            yield* store.record({ source, document, observedAt: t(2 * i + 1) })
          }
          const history = yield* store.history({ pipelineExecutionId: id })
          assert.deepStrictEqual(
            history.map((h) => [h.snapshot.seq, h.snapshot.status, h.snapshot.seenCount]),
            [
              [1, "InProgress", 2],
              [2, "Succeeded", 2],
              [3, "Succeeded", 2],
              [4, "Succeeded", 2]
            ]
          )
          assert.deepStrictEqual(history[0]!.changes, [])
          assert.deepStrictEqual(
            history[1]!.changes.map((c) => c.path),
            ["status", "lastUpdateTime"]
          )
          assert.deepStrictEqual(
            history[2]!.changes.map((c) => `${c.path}:${c.kind}`),
            [
              "artifactRevisions[SourceArtifact].created:removed",
              "artifactRevisions[SourceArtifact].revisionId:changed",
              "artifactRevisions[SourceArtifact].revisionSummary:removed",
              "artifactRevisions[SourceArtifact].revisionUrl:removed"
            ]
          )
          assert.deepStrictEqual(history[3]!.changes, [
            {
              path: "variables[BuildNumber]",
              field: "variables",
              key: "BuildNumber",
              kind: "changed",
              before: "1",
              after: "2"
            }
          ])
          const latest = yield* store.latest({ pipelineExecutionId: id })
          assert.strictEqual(Option.getOrThrow(latest).seq, 4)
          const diff = yield* store.diffSnapshots(history[0]!.snapshot.id, history[3]!.snapshot.id)
          assert.includeMembers(
            diff.map((c) => c.path),
            ["status", "variables[BuildNumber]", "artifactRevisions[SourceArtifact].revisionId"]
          )
        })
      )

      it.effect("records a batch in order: repeated and changed states of one execution in one transaction", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const source = freshSource()
          const a = executionId()
          const b = executionId()
          const results = yield* store.recordMany([
            { source, document: doc(a), observedAt: t(1) },
            { source, document: doc(b), observedAt: t(1) },
            { source, document: doc(a), observedAt: t(2) },
            { source, document: doc(a, { status: "Failed" }), observedAt: t(3) },
            { source, document: doc(a, { status: "Failed" }), observedAt: t(4) }
          ])
          assert.deepStrictEqual(
            results.map((r) => `${r.pipelineExecutionId === a ? "a" : "b"}:${r.outcome}:${r.seq}`),
            ["a:new:1", "b:new:1", "a:unchanged:1", "a:new:2", "a:unchanged:2"]
          )
          const history = yield* store.history({ pipelineExecutionId: a })
          assert.deepStrictEqual(
            history.map((h) => [h.snapshot.status, h.snapshot.seenCount, h.snapshot.lastSeenAt.toISOString()]),
            [
              ["InProgress", 2, t(2).toISOString()],
              ["Failed", 2, t(4).toISOString()]
            ]
          )
          const heads = yield* store.heads(source)
          assert.deepStrictEqual(heads.map((h) => [h.pipelineExecutionId === a ? "a" : "b", h.status, h.seq]).sort(), [
            ["a", "Failed", 2],
            ["b", "InProgress", 1]
          ])
        })
      )

      it.effect("refuses UPDATE, DELETE and TRUNCATE of snapshot documents in the database", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const { kysely } = yield* Database.Database
          const source = freshSource()
          const id = executionId()
          const { snapshotId } = yield* store.record({ source, document: doc(id), observedAt: t(1) })
          const attempts = [
            sql`update execution_snapshot set document = '{}'::jsonb where id = ${snapshotId}`,
            sql`update execution_snapshot set status = 'Succeeded' where id = ${snapshotId}`,
            sql`update execution_snapshot set content_hash = repeat('0', 64) where id = ${snapshotId}`,
            sql`update execution_snapshot set seen_count = 0 where id = ${snapshotId}`,
            sql`delete from execution_snapshot where id = ${snapshotId}`,
            sql`truncate execution_snapshot cascade`
          ]
          for (const attempt of attempts) {
            const exit = yield* Effect.exit(Effect.tryPromise(() => attempt.execute(kysely)))
            assert.isTrue(Exit.isFailure(exit), attempt.compile(kysely).sql)
          }
          const after = yield* store.snapshot(snapshotId)
          assert.strictEqual(after.status, "InProgress")
          assert.strictEqual<string>(after.document.pipelineExecutionId, id)
        })
      )

      it.effect("keeps a NUL character losslessly; typed columns get U+FFFD", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const { kysely } = yield* Database.Database
          const source = freshSource()
          const id = executionId()
          const message = "first line\u0000hidden after NUL"
          const document = doc(id, {
            statusSummary: message,
            artifactRevisions: [{ name: "SourceArtifact", revisionId: "abc", revisionSummary: message }]
          })
          const first = yield* store.record({ source, document, observedAt: t(1) })
          const second = yield* store.record({ source, document, observedAt: t(2) })
          assert.strictEqual(second.outcome, "unchanged")
          const stored = yield* store.snapshot(first.snapshotId)
          assert.strictEqual(stored.document.statusSummary, message)
          assert.strictEqual(stored.document.artifactRevisions![0]!.revisionSummary, message)
          const row = yield* Effect.promise(() =>
            kysely
              .selectFrom("execution_snapshot")
              .select(["status_summary", "document"])
              .where("id", "=", first.snapshotId)
              .executeTakeFirstOrThrow()
          )
          assert.strictEqual(row.status_summary, "first line\uFFFDhidden after NUL")
          assert.strictEqual(
            (row.document as { statusSummary: string }).statusSummary,
            "first line\uFFFDhidden after NUL"
          )
        })
      )

      it.effect("keeps rejected payloads verbatim", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const { kysely } = yield* Database.Database
          const source = freshSource()
          const payloads = [
            '{"pipelineExecution":{"status":7}}',
            "<html>not json",
            "nul \u0000 inside",
            { pipelineVersion: "seven" }
          ]
          const ids = yield* Effect.forEach(payloads, (payload) =>
            store.recordRejected({
              source,
              operation: "GetPipelineExecution",
              pipelineName: "p",
              payload,
              issue: "bad"
            })
          )
          const rows = yield* Effect.promise(() =>
            kysely.selectFrom("rejected_response").selectAll().where("source", "=", source).orderBy("id").execute()
          )
          assert.deepStrictEqual(
            rows.map((r) => Number(r.id)),
            ids
          )
          assert.deepStrictEqual(
            rows.map((r) => Buffer.from(r.payload).toString("utf8")),
            ['{"pipelineExecution":{"status":7}}', "<html>not json", "nul \u0000 inside", '{"pipelineVersion":"seven"}']
          )
          assert.deepStrictEqual(rows[0]!.payload_json, { pipelineExecution: { status: 7 } })
          assert.isNull(rows[1]!.payload_json)
          const del = yield* Effect.exit(
            Effect.tryPromise(() => kysely.deleteFrom("rejected_response").where("source", "=", source).execute())
          )
          assert.isTrue(Exit.isFailure(del))
        })
      )

      it.effect("a failed batch leaves nothing half-written and says which batch", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const { kysely } = yield* Database.Database
          const source = freshSource()
          const good = executionId()
          const bad = executionId()
          yield* store.record({ source, document: doc(good), observedAt: t(1) })
          const error = yield* Effect.flip(
            store.recordMany([
              { source, document: doc(good, { status: "Succeeded" }), observedAt: t(2) },
              { source, document: doc(bad, { pipelineVersion: 3_000_000_000 }), observedAt: t(2) }
            ])
          )
          assert.strictEqual(error._tag, "DatabaseError")
          if (error._tag !== "DatabaseError") return
          assert.include(error.operation, "record batch of 2 executions")
          assert.include(error.operation, `payments-api/${bad} failed`)
          assert.match(error.message, /out of range/)
          const rows = yield* Effect.promise(() =>
            kysely
              .selectFrom("execution_snapshot")
              .select(["pipeline_execution_id", "status"])
              .where("source", "=", source)
              .execute()
          )
          assert.deepStrictEqual(rows, [{ pipeline_execution_id: good, status: "InProgress" }])
          const heads = yield* store.heads(source)
          assert.deepStrictEqual(
            heads.map((h) => h.pipelineExecutionId),
            [good]
          )
        })
      )

      it.effect("lists latest states with filters, newest first", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const source = freshSource()
          const ids = [executionId(), executionId(), executionId()]
          yield* store.recordMany([
            {
              source,
              document: doc(ids[0]!, { startTime: "2026-06-01T08:00:00Z", status: "Succeeded" }),
              observedAt: t(1)
            },
            {
              source,
              document: doc(ids[1]!, { startTime: "2026-06-02T08:00:00Z", status: "Failed" }),
              observedAt: t(1)
            },
            {
              source,
              document: doc(ids[2]!, { startTime: "2026-06-03T08:00:00Z", pipelineName: "other" }),
              observedAt: t(1)
            },
            {
              source,
              document: doc(ids[1]!, { startTime: "2026-06-02T08:00:00Z", status: "Succeeded" }),
              observedAt: t(2)
            }
          ])
          const all = yield* store.list({ source })
          assert.deepStrictEqual(
            all.map((s) => s.pipelineExecutionId),
            [ids[2], ids[1], ids[0]]
          )
          const succeeded = yield* store.list({ source, status: "Succeeded" })
          assert.deepStrictEqual(
            succeeded.map((s) => s.pipelineExecutionId),
            [ids[1], ids[0]]
          )
          const sinceJune2 = yield* store.list({
            source,
            pipelineName: pipelineName("payments-api"),
            since: new Date("2026-06-02T00:00:00Z")
          })
          assert.deepStrictEqual(
            sinceJune2.map((s) => s.pipelineExecutionId),
            [ids[1]]
          )
          const limited = yield* store.list({ source, limit: 1 })
          assert.strictEqual(limited.length, 1)
          // A name that bypassed parsing (a JavaScript caller) still reaches SQL only as a parameter.
          const injection = yield* store.list({
            source,
            pipelineName: Identifiers.PipelineName.make("x' or '1'='1", true)
          })
          assert.strictEqual(injection.length, 0)
          const diff = yield* store.diffExecutions(
            { pipelineExecutionId: ids[0]!, source },
            { pipelineExecutionId: ids[1]!, source }
          )
          assert.strictEqual(diff[0]!.path, "pipelineExecutionId")
        })
      )

      it.effect("tells unknown and ambiguous executions apart", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const id = executionId()
          const missing = yield* Effect.flip(store.history({ pipelineExecutionId: id }))
          assert.strictEqual(missing._tag, "ExecutionNotStoredError")
          const a = freshSource()
          const b = freshSource()
          yield* store.record({ source: a, document: doc(id), observedAt: t(1) })
          yield* store.record({ source: b, document: doc(id), observedAt: t(1) })
          const ambiguous = yield* Effect.flip(store.history({ pipelineExecutionId: id }))
          assert.strictEqual(ambiguous._tag, "AmbiguousExecutionError")
          const one = yield* store.history({ pipelineExecutionId: id, source: a })
          assert.strictEqual(one.length, 1)
          const noSnapshot = yield* Effect.flip(store.snapshot(987654321))
          assert.strictEqual(noSnapshot._tag, "SnapshotNotFoundError")
        })
      )

      it.effect("keeps run bookkeeping", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const source = freshSource()
          const runId = yield* store.startRun(source, { pipelines: ["payments-api"] })
          yield* store.record({ source, document: doc(executionId()), observedAt: t(1), runId })
          yield* store.finishRun(runId, {
            fetched: 1,
            newSnapshots: 1,
            unchanged: 0,
            rejected: 0,
            failed: 0,
            outcome: "succeeded"
          })
          const runs = yield* store.runs(50)
          const run = runs.find((r) => r.id === runId)!
          assert.strictEqual(run.outcome, "succeeded")
          assert.strictEqual(run.newSnapshots, 1)
          assert.deepStrictEqual(run.selection, { pipelines: ["payments-api"] })
          assert.isDefined(run.finishedAt)
        })
      )

      it.effect("runs one read-only statement and refuses writes and multiple statements", () =>
        Effect.gen(function* () {
          const db = yield* Database.Database
          const store = yield* SnapshotStore.SnapshotStore
          const source = freshSource()
          yield* store.record({ source, document: doc(executionId()), observedAt: t(1) })
          const result = yield* db.queryReadOnly(
            `select count(*)::int as n from execution_snapshot where source = '${source}'`
          )
          assert.deepStrictEqual(result.columns, ["n"])
          assert.deepStrictEqual(result.rows, [[1]])
          for (const statement of [
            `delete from execution_head where source = '${source}'`,
            `select 1; delete from execution_head where source = '${source}'`,
            `with d as (delete from execution_head where source = '${source}' returning 1) select * from d`,
            "set transaction_read_only = off",
            `commit; delete from execution_head where source = '${source}'`,
            "copy (select 1) to program 'true'",
            "create table pwned (x int)"
          ]) {
            const exit = yield* Effect.exit(db.queryReadOnly(statement))
            assert.isTrue(Exit.isFailure(exit), statement)
          }
          const heads = yield* store.heads(source)
          assert.strictEqual(heads.length, 1)
        })
      )

      it.effect("refuses any change to a stored document, and placements no history has", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const { kysely } = yield* Database.Database
          const source = freshSource()
          const [{ snapshotId }] = yield* store.recordMany([{ source, document: doc(executionId()), observedAt: t(5) }])
          const attempt = (statement: ReturnType<typeof sql>) =>
            Effect.promise(() =>
              statement.execute(kysely).then(
                () => "accepted",
                (error: unknown) => String((error as Error).message)
              )
            )
          for (const [what, change] of [
            ["document", sql`document = document || '{"status":"Succeeded"}'::jsonb`],
            ["status", sql`status = 'Succeeded'`],
            ["hash", sql`content_hash = repeat('0', 64)`],
            ["execution", sql`pipeline_execution_id = ${executionId()}`],
            ["raw bytes", sql`document_raw = '\\x00'::bytea`],
            ["no sighting", sql`seen_count = 0`],
            ["last seen before first seen", sql`last_seen_at = first_seen_at - interval '1 day'`]
          ] as const) {
            const outcome = yield* attempt(sql`update execution_snapshot set ${change} where id = ${snapshotId}`)
            assert.match(outcome, /immutable|violates check constraint/, `${what}: ${outcome}`)
          }
          assert.match(
            yield* attempt(sql`delete from execution_snapshot where id = ${snapshotId}`),
            /immutable: DELETE/
          )
          assert.match(yield* attempt(sql`truncate execution_snapshot cascade`), /TRUNCATE refused/)
          // A state's place in its history is derived from the observations: the writer moves it.
          assert.strictEqual(
            yield* attempt(
              sql`update execution_snapshot set seen_count = seen_count + 2, last_seen_at = last_seen_at + interval '1 hour' where id = ${snapshotId}`
            ),
            "accepted"
          )
          const [row] = yield* Effect.promise(() =>
            kysely.selectFrom("execution_snapshot").selectAll().where("id", "=", snapshotId).execute()
          )
          assert.strictEqual(row!.seen_count, 3)
          assert.strictEqual(row!.status, "InProgress")
          assert.strictEqual(row!.first_seen_at.toISOString(), t(5).toISOString())
        })
      )
    })
  })
}

describe("each read's own errors", () => {
  it("the types say which reads can miss an execution or a snapshot", () => {
    type ErrorOf<F> = F extends (...args: never) => Effect.Effect<unknown, infer E> ? E : never
    type Tag<F> = ErrorOf<F> extends { readonly _tag: infer T } ? T : never
    type S = SnapshotStore.SnapshotStoreService
    // Compile-time checks: listing cannot miss anything, reading a snapshot by id cannot be ambiguous.
    const listMissesNothing: Extract<Tag<S["list"]>, "ExecutionNotStoredError" | "SnapshotNotFoundError"> extends never
      ? true
      : false = true
    const snapshotIsNeverAmbiguous: Extract<Tag<S["snapshot"]>, "AmbiguousExecutionError"> extends never
      ? true
      : false = true
    const historyCanMiss: "ExecutionNotStoredError" extends Tag<S["history"]> ? true : false = true
    assert.isTrue(listMissesNothing && snapshotIsNeverAmbiguous && historyCanMiss)
  })
})
