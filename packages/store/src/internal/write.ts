/**
 * The write path of the snapshot store: one batch of observations, in one transaction.
 *
 * The contract: an execution's stored states equal the states obtained by applying all of its
 * observations in observation order — `observedAt`, then content hash, then run id — however they
 * were batched, interleaved across writers or delayed. Applying an observation in order means: a
 * content different from the current state's is a new state; the same content is one more sighting
 * of the current state. The same observation (execution, time, content, run) counts once.
 *
 * Two paths give that result. An execution whose observations in the batch all come after its
 * latest recorded one takes the fast path: new states are appended and sightings counted in one
 * statement, as the sequential replay would. An execution with an observation at or before its
 * latest one (a slow job, a replayed fetch) is recomputed from its observation log
 * (`execution_observation`): the log is replayed in order and the rows moved to where they belong
 * (`replay.ts`).
 */
import { sql, type Transaction } from "kysely"
import type { Tables } from "../DatabaseSchema.js"
import {
  compareMoments,
  type IdRow,
  idsByKeySeq,
  insertStates,
  keyOf,
  logObservations,
  type Moment,
  type NewState,
  type Pending,
  type Prepared,
  prepare,
  push,
  quiet,
  type Recorded,
  stateKey,
  toDate,
  toNumber,
  toNumberOrNull,
  yieldToIo
} from "./observation.js"
import { replay } from "./replay.js"

export { clean, keyOf, type Pending, type Recorded } from "./observation.js"

/** An execution's head as locked by this transaction. */
/** A new state whose placement grows with the batch's sightings of it. */
interface Growing extends NewState {
  readonly placement: { -readonly [K in keyof NewState["placement"]]: NewState["placement"][K] }
}

export interface Head {
  readonly id: number
  readonly key: string
  seq: number
  hash: string | null
  snapshotId: number | null
  /** Its latest recorded observation. */
  last: Moment | undefined
  /** The state this batch appended last, its sightings counted on it until it is written. */
  pending: Growing | undefined
}

/**
 * Writes one batch inside a transaction: heads created and locked in one key order (the same for
 * every writer, so concurrent writers cannot deadlock), then the fast path in one statement, then
 * the executions that received an observation out of order, recomputed from their logs.
 */
export const writeBatch = async (
  trx: Transaction<Tables>,
  pending: ReadonlyArray<Pending>
): Promise<Array<Recorded>> => {
  const keys = [...new Map(pending.map((i) => [i.key, i])).values()].sort((a, b) => (a.key < b.key ? -1 : 1))
  const sources = keys.map((i) => i.source)
  const names = keys.map((i) => i.document.pipelineName as string)
  const ids = keys.map((i) => i.document.pipelineExecutionId as string)

  const created = quiet(
    sql`
      insert into execution_head (source, pipeline_name, pipeline_execution_id)
      select source, pipeline_name, pipeline_execution_id
      from unnest(${sources}::text[], ${names}::text[], ${ids}::text[]) with ordinality as k(source, pipeline_name, pipeline_execution_id, ord)
      order by ord
      on conflict do nothing
    `.execute(trx)
  )
  const locked = quiet(
    sql<{
      id: string | number
      source: string
      pipeline_name: string
      pipeline_execution_id: string
      seq: number
      snapshot_id: string | number | null
      content_hash: string | null
    }>`
      -- One primary-key probe per key, in key order (a join let the planner scan every head).
      select h.*
      from unnest(${sources}::text[], ${names}::text[], ${ids}::text[]) with ordinality as k(source, pipeline_name, pipeline_execution_id, ord)
      cross join lateral (
        select h.id, h.source, h.pipeline_name, h.pipeline_execution_id, h.seq, h.snapshot_id, h.content_hash
        from execution_head h
        where h.source = k.source and h.pipeline_name = k.pipeline_name and h.pipeline_execution_id = k.pipeline_execution_id
        for update
      ) as h
      order by k.ord
    `.execute(trx)
  )
  // Hashing in slices lets the event loop hand the lock statement over as soon as the insert is done.
  const items: Array<Prepared> = []
  for (let i = 0; i < pending.length; i++) {
    if (i % 50 === 0) await yieldToIo()
    items.push(prepare(pending[i]!, i))
  }
  await created
  const lockedHeads = (await locked).rows

  // Each stored execution's latest observation, read after its head is locked (so after any writer
  // that held it committed): the end of its current state.
  const current = lockedHeads.filter((h) => h.snapshot_id !== null).map((h) => toNumber(h.snapshot_id))
  const ends =
    current.length === 0
      ? new Map<number, Moment>()
      : new Map(
          (
            await sql<{ id: string | number; last_seen_at: Date | string; last_run_id: string | number | null }>`
              select s.id, s.last_seen_at, s.last_run_id
              from unnest(${current}::bigint[]) as k(id)
              cross join lateral (select id, last_seen_at, last_run_id from execution_snapshot where id = k.id) s
            `.execute(trx)
          ).rows.map((r) => [
            toNumber(r.id),
            { observedAt: toDate(r.last_seen_at), runId: toNumberOrNull(r.last_run_id) }
          ])
        )

  const heads = new Map<string, Head>(
    lockedHeads.map((h) => {
      const snapshotId = h.snapshot_id === null ? null : toNumber(h.snapshot_id)
      const end = snapshotId === null ? undefined : ends.get(snapshotId)
      return [
        keyOf(h.source, h.pipeline_name, h.pipeline_execution_id),
        {
          id: toNumber(h.id),
          key: keyOf(h.source, h.pipeline_name, h.pipeline_execution_id),
          seq: toNumber(h.seq),
          hash: h.content_hash,
          snapshotId,
          last: end === undefined || h.content_hash === null ? undefined : { ...end, hash: h.content_hash },
          pending: undefined
        }
      ]
    })
  )

  const byExecution = new Map<string, Array<Prepared>>()
  for (const item of items) push(byExecution, item.key, item)

  const results = new Array<Recorded | undefined>(items.length)
  const result = (item: Prepared, outcome: "new" | "unchanged", snapshotId: number, seq: number) => {
    results[item.index] = {
      pipelineName: item.document.pipelineName,
      pipelineExecutionId: item.document.pipelineExecutionId,
      outcome,
      snapshotId,
      seq,
      contentHash: item.hash
    }
  }

  const late: Array<{ head: Head; items: ReadonlyArray<Prepared> }> = []
  const newStates: Array<Growing> = []
  const counted = new Map<number, { count: number; lastSeenAt: Date; lastRunId: number | null }>()
  const observed: Array<{ headId: number; item: Prepared }> = []
  const afterInsert: Array<(inserted: Map<string, number>) => void> = []

  for (const [key, group] of byExecution) {
    const head = heads.get(key)!
    group.sort(compareMoments)
    if (head.last !== undefined && compareMoments(group[0]!, head.last) < 0) {
      late.push({ head, items: group })
      continue
    }
    for (const item of group) {
      if (head.last !== undefined && compareMoments(item, head.last) === 0) {
        // The same observation written again (a retried batch): it was counted when it was written.
        const state = head.pending
        if (state === undefined) result(item, "unchanged", head.snapshotId!, head.seq)
        else {
          const seq = state.placement.seq
          afterInsert.push((inserted) => result(item, "unchanged", inserted.get(stateKey(state))!, seq))
        }
        continue
      }
      observed.push({ headId: head.id, item })
      head.last = item
      if (head.hash === item.hash) {
        const state = head.pending
        if (state !== undefined) {
          state.placement.seenCount++
          state.placement.lastSeenAt = item.observedAt
          state.placement.lastRunId = item.runId
          const seq = state.placement.seq
          afterInsert.push((inserted) => result(item, "unchanged", inserted.get(stateKey(state))!, seq))
        } else {
          const id = head.snapshotId!
          const count = counted.get(id)
          counted.set(id, { count: (count?.count ?? 0) + 1, lastSeenAt: item.observedAt, lastRunId: item.runId })
          result(item, "unchanged", id, head.seq)
        }
      } else {
        const state: Growing = {
          item,
          placement: {
            seq: head.seq + 1,
            firstSeenAt: item.observedAt,
            lastSeenAt: item.observedAt,
            seenCount: 1,
            firstRunId: item.runId,
            lastRunId: item.runId
          }
        }
        newStates.push(state)
        head.seq = state.placement.seq
        head.hash = item.hash
        head.pending = state
        afterInsert.push((inserted) => result(item, "new", inserted.get(stateKey(state))!, state.placement.seq))
      }
    }
  }

  if (observed.length > 0) {
    // Only heads that moved to a new state are written: an unchanged fetch touches its snapshot row alone.
    const moved = [...heads.values()].filter((h) => h.pending !== undefined).map((h) => h.pending!)
    const bumped = [...counted.entries()].sort((a, b) => a[0] - b[0])
    const inserted = await sql<IdRow>`
      with inserted as (${insertStates(newStates)}),
      moved as (
        update execution_head h
        set seq = i.seq, snapshot_id = i.id, content_hash = i.content_hash, status = i.status,
          start_time = coalesce(i.start_time, h.start_time), changed_at = i.first_seen_at
        from inserted i
        join unnest(
          ${moved.map((r) => r.item.source)}::text[],
          ${moved.map((r) => r.item.document.pipelineName as string)}::text[],
          ${moved.map((r) => r.item.document.pipelineExecutionId as string)}::text[],
          ${moved.map((r) => r.placement.seq)}::int[]
        ) as m(source, pipeline_name, pipeline_execution_id, seq) using (source, pipeline_name, pipeline_execution_id, seq)
        where h.source = i.source and h.pipeline_name = i.pipeline_name and h.pipeline_execution_id = i.pipeline_execution_id
      ),
      counted as (
        update execution_snapshot s
        set seen_count = s.seen_count + b.count, last_seen_at = b.last_seen_at, last_run_id = b.last_run_id
        from unnest(
          ${bumped.map(([id]) => id)}::bigint[],
          ${bumped.map(([, b]) => b.count)}::int[],
          ${bumped.map(([, b]) => b.lastSeenAt.toISOString())}::timestamptz[],
          ${bumped.map(([, b]) => b.lastRunId)}::bigint[]
        ) as b(id, count, last_seen_at, last_run_id)
        where s.id = b.id
      ),
      logged as (${logObservations(observed)})
      select id, source, pipeline_name, pipeline_execution_id, seq from inserted
    `.execute(trx)
    const byKeySeq = idsByKeySeq(inserted.rows)
    const ids = new Map(newStates.map((r) => [stateKey(r), byKeySeq.get(`${r.item.key}#${r.placement.seq}`)!]))
    for (const f of afterInsert) f(ids)
  } else {
    for (const f of afterInsert) f(new Map())
  }

  if (late.length > 0) await replay(trx, late, result)

  return results.map((r) => r!)
}
