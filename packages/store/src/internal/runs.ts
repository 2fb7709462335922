import { Clock, Effect } from "effect"
import type { DatabaseService } from "../Database.js"
import type { Run, RunCounts, RunOutcome, Source } from "../SnapshotStore.js"
import { clean, toDate, toNumber } from "./observation.js"

// The job-run log: `snapshot_run`.

/** The run bookkeeping over `db`. */
export const makeRuns = (db: DatabaseService) => {
  const startRun = (source: Source, selection: unknown) =>
    db.use("start run", async (k) => {
      const row = await k
        .insertInto("snapshot_run")
        .values({ source, selection: JSON.stringify(selection ?? {}) })
        .returning("id")
        .executeTakeFirstOrThrow()
      return toNumber(row.id)
    })

  const finishRun = (id: number, result: RunCounts & { readonly outcome: RunOutcome; readonly error?: string }) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      db.use(`finish run ${id}`, async (k) => {
        await k
          .updateTable("snapshot_run")
          .set({
            finished_at: new Date(now),
            fetched: result.fetched,
            new_snapshots: result.newSnapshots,
            unchanged: result.unchanged,
            rejected: result.rejected,
            failed: result.failed,
            actions_fetched: result.actionsFetched ?? 0,
            new_action_states: result.newActionStates ?? 0,
            outcome: result.outcome,
            error: clean(result.error)
          })
          .where("id", "=", id)
          .execute()
      })
    )

  const runs = (limit = 20) =>
    db.use("list runs", async (k) => {
      const rows = await k.selectFrom("snapshot_run").selectAll().orderBy("id", "desc").limit(limit).execute()
      return rows.map(
        (r): Run => ({
          id: toNumber(r.id),
          source: r.source,
          startedAt: toDate(r.started_at),
          finishedAt: r.finished_at === null ? undefined : toDate(r.finished_at),
          selection: r.selection,
          fetched: r.fetched,
          newSnapshots: r.new_snapshots,
          unchanged: r.unchanged,
          rejected: r.rejected,
          failed: r.failed,
          actionsFetched: r.actions_fetched,
          newActionStates: r.new_action_states,
          outcome: r.outcome,
          error: r.error ?? undefined
        })
      )
    })

  return { startRun, finishRun, runs }
}
