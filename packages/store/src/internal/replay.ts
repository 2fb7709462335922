/**
 * The late path of the write path: executions that received an observation at or before their
 * latest one are recomputed from their observation log, so their history equals the replay of
 * all their observations in order (see `write.ts` for the contract).
 */
import { sql, type Transaction } from "kysely"
import type { Tables } from "../DatabaseSchema.js"
import {
  clean,
  compareMoments,
  type IdRow,
  idsByKeySeq,
  insertStates,
  logObservations,
  type Moment,
  type NewState,
  type Placement,
  type Prepared,
  push,
  toDate,
  toNumber,
  toNumberOrNull
} from "./observation.js"
import type { Head } from "./write.js"

type StateRow = {
  head_id: string | number
  id: string | number
  seq: number
  content_hash: string
  start_time: Date | string | null
  status: string
  first_seen_at: Date | string
  last_seen_at: Date | string
  seen_count: number
  first_run_id: string | number | null
  last_run_id: string | number | null
}

/** One state of an execution's replayed history. */
interface Replayed {
  readonly hash: string
  placement: Placement & { seenCount: number; lastSeenAt: Date; lastRunId: number | null }
  /** The row that holds it, once known. */
  rowId: number | undefined
  /** For a state no row holds yet: an existing row with the same content, or an observation's document. */
  copyOf: number | undefined
  item: Prepared | undefined
  /** The index of its first observation in the replayed log. */
  readonly first: number
}

/**
 * Recomputes executions that received observations out of order: their observations logged (each
 * once), the whole log replayed in order, each existing row matched to the earliest state with its
 * content that follows the previous match, rows moved where they belong, and a row added for each
 * state no row holds (a new content, or a state split by an observation of another).
 */
export const replay = async (
  trx: Transaction<Tables>,
  late: ReadonlyArray<{ head: Head; items: ReadonlyArray<Prepared> }>,
  result: (item: Prepared, outcome: "new" | "unchanged", snapshotId: number, seq: number) => void
) => {
  const observations = late.flatMap(({ head, items }) => {
    // Identical observations within the batch are one observation.
    const distinct = items.filter((item, i) => i === 0 || compareMoments(item, items[i - 1]!) !== 0)
    return distinct.map((item) => ({ headId: head.id, item }))
  })
  await sql`${logObservations(observations)} on conflict do nothing`.execute(trx)

  const headIds = late.map((l) => l.head.id)
  const [log, stored] = await Promise.all([
    sql<{
      head_id: string | number
      observed_at: Date | string
      content_hash: string
      run_id: string | number | null
      seen: number
    }>`
      select head_id, observed_at, content_hash, run_id, seen from execution_observation where head_id = any(${headIds}::bigint[])
    `.execute(trx),
    sql<StateRow>`
      select h.id as head_id, s.id, s.seq, s.content_hash, s.start_time, s.status, s.first_seen_at, s.last_seen_at,
        s.seen_count, s.first_run_id, s.last_run_id
      from execution_head h
      join execution_snapshot s using (source, pipeline_name, pipeline_execution_id)
      where h.id = any(${headIds}::bigint[])
      order by h.id, s.seq
    `.execute(trx)
  ])
  const logOf = new Map<number, Array<Moment & { seen: number }>>()
  for (const r of log.rows) {
    push(logOf, toNumber(r.head_id), {
      observedAt: toDate(r.observed_at),
      hash: r.content_hash,
      runId: toNumberOrNull(r.run_id),
      seen: toNumber(r.seen)
    })
  }
  const rowsOf = new Map<number, Array<StateRow>>()
  for (const r of stored.rows) push(rowsOf, toNumber(r.head_id), r)

  const updates: Array<{ id: number; placement: Placement }> = []
  const copies: Array<{ id: number; placement: Placement }> = []
  const fromDocuments: Array<NewState> = []
  const heads: Array<{ head: Head; last: Replayed; startTime: Date | null; status: string }> = []
  const placed: Array<{ item: Prepared; state: Replayed; head: Head; outcome: "new" | "unchanged" }> = []

  for (const { head, items } of late) {
    const entries = (logOf.get(head.id) ?? []).sort(compareMoments)
    const rows = rowsOf.get(head.id) ?? []
    const states: Array<Replayed> = []
    const stateOfEntry: Array<Replayed> = []
    for (const entry of entries) {
      const last = states.at(-1)
      if (last !== undefined && last.hash === entry.hash) {
        last.placement.seenCount += entry.seen
        last.placement.lastSeenAt = entry.observedAt
        last.placement.lastRunId = entry.runId
      } else {
        states.push({
          hash: entry.hash,
          placement: {
            seq: states.length + 1,
            firstSeenAt: entry.observedAt,
            lastSeenAt: entry.observedAt,
            seenCount: entry.seen,
            firstRunId: entry.runId,
            lastRunId: entry.runId
          },
          rowId: undefined,
          copyOf: undefined,
          item: undefined,
          first: stateOfEntry.length
        })
      }
      stateOfEntry.push(states.at(-1)!)
    }
    // Existing rows keep their order: each takes the earliest state with its content after the previous one.
    let next = 0
    for (const row of rows) {
      while (next < states.length && states[next]!.hash !== row.content_hash) next++
      if (next === states.length) {
        throw new Error(
          `execution_observation does not account for snapshot ${row.id} (state ${row.seq}) of ${head.key}: the store is inconsistent`
        )
      }
      states[next]!.rowId = toNumber(row.id)
      next++
    }
    const byHash = new Map(rows.map((r) => [r.content_hash, r]))
    const itemByHash = new Map(items.map((i) => [i.hash, i]))
    for (const state of states) {
      if (state.rowId !== undefined) continue
      const row = byHash.get(state.hash)
      if (row !== undefined) state.copyOf = toNumber(row.id)
      else state.item = itemByHash.get(state.hash)
      if (state.copyOf === undefined && state.item === undefined) {
        throw new Error(`no content for a state of ${head.key} (content ${state.hash}): the store is inconsistent`)
      }
    }
    for (const item of items) {
      const at = indexOf(entries, item)
      const state = stateOfEntry[at]!
      // The observation that starts a state no row held before is what this write added.
      placed.push({ item, state, head, outcome: state.rowId === undefined && state.first === at ? "new" : "unchanged" })
    }
    const rowById = new Map(rows.map((r) => [toNumber(r.id), r]))
    for (const state of states) {
      if (state.rowId !== undefined) {
        if (!samePlacement(rowById.get(state.rowId)!, state.placement)) {
          updates.push({ id: state.rowId, placement: state.placement })
        }
      } else if (state.item !== undefined) {
        fromDocuments.push({ item: state.item, placement: state.placement })
      } else {
        copies.push({ id: state.copyOf!, placement: state.placement })
      }
    }
    // What the head shows: the last state's status, and the last start time any state gave.
    const contentOf = (state: Replayed) => {
      const row = rowById.get(state.rowId ?? state.copyOf ?? -1)
      return row !== undefined
        ? { status: row.status, startTime: row.start_time === null ? null : toDate(row.start_time) }
        : { status: state.item!.document.status as string, startTime: state.item!.document.startTime ?? null }
    }
    const last = states.at(-1)!
    heads.push({
      head,
      last,
      status: contentOf(last).status,
      startTime:
        states
          .map((s) => contentOf(s).startTime)
          .filter((t) => t !== null)
          .at(-1) ?? null
    })
  }

  if (updates.length > 0) {
    // Rows change places in two steps: the unique (execution, seq) holds after each statement.
    const moving = updates.map((u) => u.id)
    await sql`update execution_snapshot set seq = seq + 1000000000 where id = any(${moving}::bigint[])`.execute(trx)
    await sql`
      update execution_snapshot s
      set seq = u.seq, first_seen_at = u.first_seen_at, last_seen_at = u.last_seen_at, seen_count = u.seen_count,
        first_run_id = u.first_run_id, last_run_id = u.last_run_id
      from unnest(${placementColumns(updates)}) as u(id, seq, first_seen_at, last_seen_at, seen_count, first_run_id, last_run_id)
      where s.id = u.id
    `.execute(trx)
  }
  const insertedIds = new Map<string, number>()
  if (copies.length > 0) {
    const copied = await sql<IdRow>`
      insert into execution_snapshot (
        source, pipeline_name, pipeline_execution_id, seq, pipeline_version, status, status_summary,
        trigger_type, trigger_detail, execution_mode, execution_type, rollback_target_execution_id,
        start_time, last_update_time, document, document_raw, content_hash,
        first_seen_at, last_seen_at, seen_count, first_run_id, last_run_id
      )
      select c.source, c.pipeline_name, c.pipeline_execution_id, u.seq, c.pipeline_version, c.status, c.status_summary,
        c.trigger_type, c.trigger_detail, c.execution_mode, c.execution_type, c.rollback_target_execution_id,
        c.start_time, c.last_update_time, c.document, c.document_raw, c.content_hash,
        u.first_seen_at, u.last_seen_at, u.seen_count, u.first_run_id, u.last_run_id
      from unnest(${placementColumns(copies)})
        as u(copy_of, seq, first_seen_at, last_seen_at, seen_count, first_run_id, last_run_id)
      join execution_snapshot c on c.id = u.copy_of
      returning id, source, pipeline_name, pipeline_execution_id, seq
    `.execute(trx)
    for (const [k, v] of idsByKeySeq(copied.rows)) insertedIds.set(k, v)
  }
  if (fromDocuments.length > 0) {
    const inserted = await sql<IdRow>`${insertStates(fromDocuments)}`.execute(trx)
    for (const [k, v] of idsByKeySeq(inserted.rows)) insertedIds.set(k, v)
  }
  const rowOf = (head: Head, state: Replayed) => state.rowId ?? insertedIds.get(`${head.key}#${state.placement.seq}`)!

  await sql`
    update execution_head h
    set seq = u.seq, snapshot_id = u.snapshot_id, content_hash = u.content_hash, status = u.status,
      start_time = u.start_time, changed_at = u.changed_at
    from unnest(
      ${heads.map((h) => h.head.id)}::bigint[],
      ${heads.map((h) => h.last.placement.seq)}::int[],
      ${heads.map((h) => rowOf(h.head, h.last))}::bigint[],
      ${heads.map((h) => h.last.hash)}::text[],
      ${heads.map((h) => clean(h.status))}::text[],
      ${heads.map((h) => h.startTime?.toISOString() ?? null)}::timestamptz[],
      ${heads.map((h) => h.last.placement.firstSeenAt.toISOString())}::timestamptz[]
    ) as u(id, seq, snapshot_id, content_hash, status, start_time, changed_at)
    where h.id = u.id
  `.execute(trx)

  for (const { item, state, head, outcome } of placed) result(item, outcome, rowOf(head, state), state.placement.seq)
}

/** The index of `moment` in sorted `entries` (it is there: every observation was logged). */
const indexOf = (entries: ReadonlyArray<Moment>, moment: Moment) => {
  let low = 0
  let high = entries.length - 1
  while (low < high) {
    const middle = (low + high) >> 1
    if (compareMoments(entries[middle]!, moment) < 0) low = middle + 1
    else high = middle
  }
  return low
}

const samePlacement = (row: StateRow, p: Placement) =>
  toNumber(row.seq) === p.seq &&
  toDate(row.first_seen_at).getTime() === p.firstSeenAt.getTime() &&
  toDate(row.last_seen_at).getTime() === p.lastSeenAt.getTime() &&
  toNumber(row.seen_count) === p.seenCount &&
  toNumberOrNull(row.first_run_id) === p.firstRunId &&
  toNumberOrNull(row.last_run_id) === p.lastRunId

/** The `unnest` arguments of rows' placements, by id. */
const placementColumns = (rows: ReadonlyArray<{ id: number; placement: Placement }>) =>
  sql.join([
    sql`${rows.map((r) => r.id)}::bigint[]`,
    sql`${rows.map((r) => r.placement.seq)}::int[]`,
    sql`${rows.map((r) => r.placement.firstSeenAt.toISOString())}::timestamptz[]`,
    sql`${rows.map((r) => r.placement.lastSeenAt.toISOString())}::timestamptz[]`,
    sql`${rows.map((r) => r.placement.seenCount)}::int[]`,
    sql`${rows.map((r) => r.placement.firstRunId)}::bigint[]`,
    sql`${rows.map((r) => r.placement.lastRunId)}::bigint[]`
  ])
