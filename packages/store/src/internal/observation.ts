/**
 * The building blocks of the store's write path (`write.ts`, `replay.ts`): observations, their
 * order, a state's placement, and the statements that insert states and log observations.
 */
import { Canonical, ExecutionDocument, type Identifiers } from "@pipetrail/core"
import { sql } from "kysely"

/** What recording one observation did (see `SnapshotStore.RecordResult`). */
export interface Recorded {
  readonly pipelineName: Identifiers.PipelineName
  readonly pipelineExecutionId: Identifiers.PipelineExecutionId
  readonly outcome: "new" | "unchanged"
  readonly snapshotId: number
  readonly seq: number
  readonly contentHash: string
}

/** One observation to write. */
export interface Pending {
  readonly key: string
  readonly source: string
  readonly document: ExecutionDocument.ExecutionDocument
  readonly observedAt: Date
  readonly runId: number | null
}

export interface Prepared extends Pending {
  /** Position in the batch, for the results. */
  readonly index: number
  readonly json: string
  readonly hash: string
  /** The canonical JSON escapes a NUL, which jsonb cannot hold: the exact bytes also go to `document_raw`. */
  readonly hasNul: boolean
}

/** Where an observation falls in an execution's order. */
export interface Moment {
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
export interface Placement {
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
export const toNumber = (value: unknown): number => (typeof value === "number" ? value : Number(value))
export const toNumberOrNull = (value: unknown): number | null => (value === null ? null : toNumber(value))
export const toDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)))

/**
 * A stored document as it was written: `document_raw`'s exact bytes when the row has them (the
 * document held a NUL, which jsonb cannot), else the `document` column.
 */
export const storedDocument = (row: { readonly document: unknown; readonly document_raw?: Uint8Array | null }) =>
  row.document_raw === null || row.document_raw === undefined
    ? row.document
    : (JSON.parse(Buffer.from(row.document_raw).toString("utf8")) as unknown)

export const prepare = (item: Pending, index: number): Prepared => {
  const json = ExecutionDocument.canonicalJson(item.document)
  return { ...item, index, json, hash: Canonical.sha256(json), hasNul: json.includes("\\u0000") }
}

export const push = <K, V>(map: Map<K, Array<V>>, key: K, value: V) => {
  const list = map.get(key)
  if (list === undefined) map.set(key, [value])
  else list.push(value)
}

/** A promise whose rejection is also handled elsewhere: never reported as unhandled while it waits. */
export const quiet = <A>(promise: Promise<A>): Promise<A> => {
  promise.catch(() => undefined)
  return promise
}

/** Lets queued I/O go out: statements already handed to the driver reach the server first. */
export const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve))

/** A state row to insert, its content from an observation's document. */
export interface NewState {
  readonly item: Prepared
  readonly placement: Placement
}

/** `insert into execution_snapshot … returning …` of states whose content comes from documents. */
export const insertStates = (rows: ReadonlyArray<NewState>) => {
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
export const logObservations = (
  observations: ReadonlyArray<{ readonly headId: number; readonly item: Prepared }>
) => sql`
  insert into execution_observation (head_id, observed_at, content_hash, run_id)
  select * from unnest(
    ${observations.map((o) => o.headId)}::bigint[],
    ${observations.map((o) => o.item.observedAt.toISOString())}::timestamptz[],
    ${observations.map((o) => o.item.hash)}::text[],
    ${observations.map((o) => o.item.runId)}::bigint[]
  )
`

export type IdRow = {
  id: string | number
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  seq: number
}

export const idsByKeySeq = (rows: ReadonlyArray<IdRow>) =>
  new Map(
    rows.map((r) => [`${keyOf(r.source, r.pipeline_name, r.pipeline_execution_id)}#${toNumber(r.seq)}`, toNumber(r.id)])
  )

/** A new state's identity within a batch. */
export const stateKey = (state: NewState) => `${state.item.key}#${state.placement.seq}`
