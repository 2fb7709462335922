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
 * (`execution_observation`): the log is replayed in order and the rows moved to where they belong.
 */
import { Canonical, ExecutionDocument } from "@pipetrail/core"
import { sql, type Transaction } from "kysely"
import type { Database as Tables } from "../DatabaseSchema.js"

/** What recording one observation did (see `SnapshotStore.RecordResult`). */
export interface Recorded {
  readonly pipelineName: string
  readonly pipelineExecutionId: string
  readonly outcome: "new" | "unchanged"
  readonly snapshotId: number
  readonly seq: number
}

/** One observation to write. */
export interface Pending {
  readonly key: string
  readonly source: string
  readonly document: ExecutionDocument.ExecutionDocument
  readonly observedAt: Date
  readonly runId: number | null
}

interface Prepared extends Pending {
  /** Position in the batch, for the results. */
  readonly index: number
  readonly json: string
  readonly hash: string
  /** The canonical JSON escapes a NUL, which jsonb cannot hold: the exact bytes also go to `document_raw`. */
  readonly hasNul: boolean
}

/** Where an observation falls in an execution's order. */
interface Moment {
  readonly observedAt: Date
  readonly hash: string
  readonly runId: number | null
}

/** Observation order: time, then content hash, then run (none first). */
export const compareMoments = (a: Moment, b: Moment): number =>
  a.observedAt.getTime() - b.observedAt.getTime() ||
  (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0) ||
  (a.runId ?? 0) - (b.runId ?? 0)

/** A state's place in its history: the derived columns of an `execution_snapshot` row. */
interface Placement {
  readonly seq: number
  readonly firstSeenAt: Date
  readonly lastSeenAt: Date
  readonly seenCount: number
  readonly firstRunId: number | null
  readonly lastRunId: number | null
}

/** PostgreSQL text cannot hold NUL: typed columns get U+FFFD; the document keeps the original bytes. */
export const clean = (text: string | undefined | null): string | null =>
  text == null ? null : text.replaceAll("\u0000", "\uFFFD")

/** An execution's identity as one string. */
export const keyOf = (source: string, pipelineName: string, id: string) => JSON.stringify([source, pipelineName, id])

const iso = (date: Date | undefined) => (date === undefined ? null : date.toISOString())
const toNumber = (value: unknown): number => (typeof value === "number" ? value : Number(value))
const toNumberOrNull = (value: unknown): number | null => (value === null ? null : toNumber(value))
const toDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)))

const prepare = (item: Pending, index: number): Prepared => {
  const json = ExecutionDocument.canonicalJson(item.document)
  return { ...item, index, json, hash: Canonical.sha256(json), hasNul: json.includes("\\u0000") }
}

/** A promise whose rejection is also handled elsewhere: never reported as unhandled while it waits. */
const quiet = <A>(promise: Promise<A>): Promise<A> => {
  promise.catch(() => undefined)
  return promise
}

/** Lets queued I/O go out: statements already handed to the driver reach the server first. */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve))

/** A state row to insert, its content from an observation's document. */
interface NewState {
  readonly item: Prepared
  readonly placement: Placement
}

/** `insert into execution_snapshot … returning …` of states whose content comes from documents. */
const insertStates = (rows: ReadonlyArray<NewState>) => {
  const c = <A>(f: (r: NewState) => A) => rows.map(f)
  const d = (r: NewState) => r.item.document
  return sql`
    insert into execution_snapshot (
      source, pipeline_name, pipeline_execution_id, seq, pipeline_version, status, status_summary,
      trigger_type, trigger_detail, execution_mode, execution_type, rollback_target_execution_id,
      start_time, last_update_time, document, document_raw, content_hash,
      first_seen_at, last_seen_at, seen_count, first_run_id, last_run_id
    )
    select source, pipeline_name, pipeline_execution_id, seq, pipeline_version, status, status_summary,
      trigger_type, trigger_detail, execution_mode, execution_type, rollback_target_execution_id,
      start_time, last_update_time, d.document, decode(document_raw, 'hex'), content_hash,
      first_seen_at, last_seen_at, seen_count, first_run_id, last_run_id
    from unnest(
      ${c((r) => r.item.source)}::text[],
      ${c((r) => d(r).pipelineName as string)}::text[],
      ${c((r) => d(r).pipelineExecutionId as string)}::text[],
      ${c((r) => r.placement.seq)}::int[],
      ${c((r) => d(r).pipelineVersion as number)}::int[],
      ${c((r) => clean(d(r).status))}::text[],
      ${c((r) => clean(d(r).statusSummary))}::text[],
      ${c((r) => clean(d(r).trigger?.triggerType))}::text[],
      ${c((r) => clean(d(r).trigger?.triggerDetail))}::text[],
      ${c((r) => clean(d(r).executionMode))}::text[],
      ${c((r) => clean(d(r).executionType))}::text[],
      ${c((r) => clean(d(r).rollbackMetadata?.rollbackTargetPipelineExecutionId))}::text[],
      ${c((r) => iso(d(r).startTime))}::timestamptz[],
      ${c((r) => iso(d(r).lastUpdateTime))}::timestamptz[],
      ${c((r) => (r.item.hasNul ? Buffer.from(r.item.json, "utf8").toString("hex") : null))}::text[],
      ${c((r) => r.item.hash)}::text[],
      ${c((r) => r.placement.firstSeenAt.toISOString())}::timestamptz[],
      ${c((r) => r.placement.lastSeenAt.toISOString())}::timestamptz[],
      ${c((r) => r.placement.seenCount)}::int[],
      ${c((r) => r.placement.firstRunId)}::bigint[],
      ${c((r) => r.placement.lastRunId)}::bigint[]
    ) with ordinality as t(source, pipeline_name, pipeline_execution_id, seq, pipeline_version, status, status_summary,
      trigger_type, trigger_detail, execution_mode, execution_type, rollback_target_execution_id,
      start_time, last_update_time, document_raw, content_hash,
      first_seen_at, last_seen_at, seen_count, first_run_id, last_run_id, ord)
    -- The documents travel as one JSON array: no array-literal escaping, one parse on the server.
    join jsonb_array_elements(${`[${rows.map((r) => (r.item.hasNul ? r.item.json.replaceAll("\\u0000", "\\ufffd") : r.item.json)).join(",")}]`}::jsonb)
      with ordinality as d(document, ord) using (ord)
    returning id, source, pipeline_name, pipeline_execution_id, seq, status, start_time, content_hash, first_seen_at
  `
}

/** `insert into execution_observation` of observations, `returning` what was new when `onConflict`. */
const logObservations = (observations: ReadonlyArray<{ readonly headId: number; readonly item: Prepared }>) => sql`
  insert into execution_observation (head_id, observed_at, content_hash, run_id)
  select * from unnest(
    ${observations.map((o) => o.headId)}::bigint[],
    ${observations.map((o) => o.item.observedAt.toISOString())}::timestamptz[],
    ${observations.map((o) => o.item.hash)}::text[],
    ${observations.map((o) => o.item.runId)}::bigint[]
  )
`

type IdRow = { id: string | number; source: string; pipeline_name: string; pipeline_execution_id: string; seq: number }

const idsByKeySeq = (rows: ReadonlyArray<IdRow>) =>
  new Map(
    rows.map((r) => [`${keyOf(r.source, r.pipeline_name, r.pipeline_execution_id)}#${toNumber(r.seq)}`, toNumber(r.id)])
  )

/** An execution's head as locked by this transaction. */
interface Head {
  readonly id: number
  readonly key: string
  seq: number
  hash: string | null
  snapshotId: number | null
  /** Its latest recorded observation. */
  last: Moment | undefined
  /** The state this batch appended last, while it is not written. */
  pending: { state: NewState; seenCount: number; lastSeenAt: Date; lastRunId: number | null } | undefined
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
  for (const item of items) byExecution.set(item.key, [...(byExecution.get(item.key) ?? []), item])

  const results = new Array<Recorded | undefined>(items.length)
  const result = (item: Prepared, outcome: "new" | "unchanged", snapshotId: number, seq: number) => {
    results[item.index] = {
      pipelineName: item.document.pipelineName,
      pipelineExecutionId: item.document.pipelineExecutionId,
      outcome,
      snapshotId,
      seq
    }
  }

  const late: Array<{ head: Head; items: ReadonlyArray<Prepared> }> = []
  const newStates: Array<Head["pending"] & {}> = []
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
        else afterInsert.push((inserted) => result(item, "unchanged", inserted.get(stateKey(state.state))!, head.seq))
        continue
      }
      observed.push({ headId: head.id, item })
      head.last = item
      if (head.hash === item.hash) {
        const state = head.pending
        if (state !== undefined) {
          state.seenCount++
          state.lastSeenAt = item.observedAt
          state.lastRunId = item.runId
          const seq = state.state.placement.seq
          afterInsert.push((inserted) => result(item, "unchanged", inserted.get(stateKey(state.state))!, seq))
        } else {
          const id = head.snapshotId!
          const count = counted.get(id)
          counted.set(id, { count: (count?.count ?? 0) + 1, lastSeenAt: item.observedAt, lastRunId: item.runId })
          result(item, "unchanged", id, head.seq)
        }
      } else {
        const state: NewState = {
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
        const entry = { state, seenCount: 1, lastSeenAt: item.observedAt, lastRunId: item.runId }
        newStates.push(entry)
        head.seq = state.placement.seq
        head.hash = item.hash
        head.pending = entry
        afterInsert.push((inserted) => result(item, "new", inserted.get(stateKey(state))!, state.placement.seq))
      }
    }
  }

  if (observed.length > 0) {
    const rows: ReadonlyArray<NewState> = newStates.map((s) => ({
      item: s.state.item,
      placement: { ...s.state.placement, seenCount: s.seenCount, lastSeenAt: s.lastSeenAt, lastRunId: s.lastRunId }
    }))
    // Only heads that moved to a new state are written: an unchanged fetch touches its snapshot row alone.
    const moved = [...heads.values()].filter((h) => h.pending !== undefined).map((h) => h.pending!.state)
    const bumped = [...counted.entries()].sort((a, b) => a[0] - b[0])
    const inserted = await sql<IdRow>`
      with inserted as (${insertStates(rows)}),
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
    const ids = new Map(rows.map((r) => [stateKey(r), byKeySeq.get(`${r.item.key}#${r.placement.seq}`)!]))
    for (const f of afterInsert) f(ids)
  } else {
    for (const f of afterInsert) f(new Map())
  }

  if (late.length > 0) await replay(trx, late, result)

  return results.map((r) => r!)
}

/** A new state's identity within a batch. */
const stateKey = (state: NewState) => `${state.item.key}#${state.placement.seq}`

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
const replay = async (
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
    const id = toNumber(r.head_id)
    logOf.set(id, [
      ...(logOf.get(id) ?? []),
      {
        observedAt: toDate(r.observed_at),
        hash: r.content_hash,
        runId: toNumberOrNull(r.run_id),
        seen: toNumber(r.seen)
      }
    ])
  }
  const rowsOf = new Map<number, Array<StateRow>>()
  for (const r of stored.rows) rowsOf.set(toNumber(r.head_id), [...(rowsOf.get(toNumber(r.head_id)) ?? []), r])

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
      const at = entries.findIndex((e) => compareMoments(e, item) === 0)
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
