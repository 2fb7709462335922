import { readFileSync } from "node:fs"
import { assert, layer } from "@effect/vitest"
import { ActionExecution } from "@pipetrail/core"
import { Database, SnapshotStore, StoreCheck } from "@pipetrail/store"
import { Effect, Schema } from "effect"
import { sql } from "kysely"
import { backends, doc, executionId, freshSource, storeLayer } from "./utils.js"

// Invariant: `StoreCheck.run` reports no problem on any store the store itself wrote, and reports
// each kind of damage that bypasses the store (rows lost, hashes changed) as a problem.

const problems = (results: ReadonlyArray<StoreCheck.CheckResult>) =>
  Object.fromEntries(results.filter((r) => r.problems > 0).map((r) => [r.check, r.problems]))

/** Runs `statement` with triggers and foreign keys off, as damage on disk would. */
const behindTheStoresBack = (statement: ReturnType<typeof sql>) =>
  Effect.flatMap(Database.Database, (db) =>
    db.transaction("damage", async (trx) => {
      await sql`set local session_replication_role = replica`.execute(trx)
      await statement.execute(trx)
    })
  )

/** The purge docs/operations.md gives under "Retention", as its statements. */
const retention = (() => {
  const text = readFileSync(new URL("../../../docs/operations.md", import.meta.url), "utf8")
  const section = text.slice(text.indexOf("## Retention"))
  const block = section.slice(section.indexOf("```sql") + 6, section.indexOf("```", section.indexOf("```sql") + 6))
  return block
    .split(/;\s*\n/)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== "" && statement !== "begin" && statement !== "commit")
})()

for (const backend of backends) {
  layer(storeLayer(backend.database), { timeout: 120_000 })(`StoreCheck on ${backend.name}`, (it) => {
    it.effect("a store written by the store checks clean; lost rows and changed hashes are found", () =>
      Effect.gen(function* () {
        const store = yield* SnapshotStore.SnapshotStore
        const source = freshSource()
        const ids = [executionId(), executionId(), executionId(), executionId(), executionId()]
        for (const [i, status] of ["InProgress", "Succeeded"].entries()) {
          yield* store.recordMany(
            ids.map((id) => ({ source, document: doc(id, { status }), observedAt: new Date(Date.UTC(2026, 5, 1, i)) }))
          )
        }
        const deploy = (status: string) =>
          Schema.decodeUnknownSync(ActionExecution.ActionExecution)({
            pipelineExecutionId: ids[0],
            actionExecutionId: "deploy-1",
            stageName: "Deploy",
            actionName: "Deploy",
            status
          })
        yield* store.recordActions(
          ["InProgress", "Succeeded"].map((status, i) => ({
            source,
            pipelineName: doc(ids[0]!).pipelineName,
            action: deploy(status),
            observedAt: new Date(Date.UTC(2026, 5, 1, i))
          }))
        )
        const clean = yield* StoreCheck.run
        assert.deepStrictEqual(problems(clean), {})
        assert.isTrue(clean.some((r) => r.check.includes("hash") && r.detail === "10 checked"))
        assert.isTrue(clean.some((r) => r.check.includes("action documents") && r.detail === "2 checked"))

        yield* behindTheStoresBack(
          sql`delete from execution_snapshot where pipeline_execution_id = ${ids[0]} and seq = 2`
        )
        yield* behindTheStoresBack(
          sql`delete from execution_snapshot where pipeline_execution_id = ${ids[1]} and seq = 1`
        )
        yield* behindTheStoresBack(
          sql`update execution_snapshot set content_hash = repeat('0', 64) where pipeline_execution_id = ${ids[2]} and seq = 1`
        )
        // An observation lost: its state's count and last sighting no longer match the log.
        yield* behindTheStoresBack(
          sql`delete from execution_observation where head_id = (select id from execution_head where pipeline_execution_id = ${ids[3]}) and observed_at = ${new Date(Date.UTC(2026, 5, 1, 1))}`
        )
        // An observation of no execution (the log has no foreign key: the check is the guard).
        yield* behindTheStoresBack(
          sql`insert into execution_observation (head_id, observed_at, content_hash) values (-1, now(), repeat('a', 64))`
        )
        // Two states swapped: every count and sighting still there, the order of the history not.
        yield* behindTheStoresBack(
          sql`update execution_snapshot set seq = seq + 10 where pipeline_execution_id = ${ids[4]}`
        )
        yield* behindTheStoresBack(
          sql`update execution_snapshot set seq = 33 - seq where pipeline_execution_id = ${ids[4]}`
        )
        yield* behindTheStoresBack(
          sql`update execution_snapshot set seq = seq - 20 where pipeline_execution_id = ${ids[4]}`
        )
        // An action head moved back to an earlier state, and an action state's hash changed.
        const first = ActionExecution.contentHash(deploy("InProgress"))
        yield* behindTheStoresBack(
          sql`update action_head set content_hash = ${first}, observed_at = ${new Date(Date.UTC(2026, 5, 1, 0))},
            state_id = (select id from action_state where source = ${source} and content_hash = ${first})
            where source = ${source}`
        )
        yield* behindTheStoresBack(
          sql`update action_state set content_hash = repeat('1', 64) where source = ${source} and status = 'Succeeded'`
        )
        const found = problems(yield* StoreCheck.run)
        assert.deepStrictEqual(found, {
          "each action execution's head is its latest observation, and every action state was observed": 1,
          "stored action documents hash to their content_hash": 1,
          "every head is its execution's latest state (seq and hash)": 1,
          "every head points at an existing snapshot of its execution": 1,
          "each execution's seq runs 1..n without gaps": 1,
          "each execution's states are the replay of its observations (counts, ends, order, no repeated neighbour, no orphan)": 7,
          "stored documents hash to their content_hash": 1
        })
      })
    )

    it.effect("the retention purge of docs/operations.md removes old executions whole and leaves a clean store", () =>
      Effect.gen(function* () {
        const store = yield* SnapshotStore.SnapshotStore
        const db = yield* Database.Database
        const source = freshSource()
        const old = executionId()
        const recent = executionId()
        const longAgo = new Date(Date.now() - 4 * 365 * 86_400_000).toISOString()
        for (const [i, status] of ["InProgress", "Succeeded"].entries()) {
          yield* store.recordMany([
            {
              source,
              document: doc(old, { status, startTime: longAgo }),
              observedAt: new Date(Date.UTC(2022, 0, 1, i))
            },
            {
              source,
              document: doc(recent, { status, startTime: new Date().toISOString() }),
              observedAt: new Date(Date.UTC(2026, 0, 1, i))
            }
          ])
        }
        const action = (pipelineExecutionId: string) =>
          Schema.decodeUnknownSync(ActionExecution.ActionExecution)({
            pipelineExecutionId,
            actionExecutionId: `${pipelineExecutionId}-deploy`,
            stageName: "Deploy",
            actionName: "Deploy",
            status: "Succeeded"
          })
        yield* store.recordActions(
          [old, recent].map((id) => ({
            source,
            pipelineName: doc(id).pipelineName,
            action: action(id),
            observedAt: new Date(Date.UTC(2026, 0, 2))
          }))
        )
        assert.isAbove(retention.length, 2)
        // The database is shared with the damage test above: the purge must add no problem.
        const before = problems(yield* StoreCheck.run)
        yield* db.transaction("purge", async (trx) => {
          for (const statement of retention) await sql.raw(statement).execute(trx)
        })
        const left = yield* Effect.promise(() =>
          db.kysely
            .selectFrom("execution_snapshot")
            .select(["pipeline_execution_id"])
            .distinct()
            .where("source", "=", source)
            .execute()
        )
        assert.deepStrictEqual(left, [{ pipeline_execution_id: recent }])
        assert.deepStrictEqual(problems(yield* StoreCheck.run), before)
        assert.lengthOf(yield* store.history({ pipelineExecutionId: recent }), 2)
        // Their action executions go with them; the recent one's stay.
        const actions = yield* Effect.promise(() =>
          db.kysely
            .selectFrom("action_snapshot")
            .select(["pipeline_execution_id"])
            .where("source", "=", source)
            .execute()
        )
        assert.deepStrictEqual(actions, [{ pipeline_execution_id: recent }])
        assert.lengthOf(yield* store.actions({ pipelineExecutionId: recent }), 1)
      })
    )
  })
}
