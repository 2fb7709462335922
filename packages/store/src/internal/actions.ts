/**
 * Action executions in the store (migration 0010): the write path and the reads.
 *
 * The contract is the one executions have (`write.ts`): an action execution's stored states equal
 * the replay of all its observations in observation order — time, then content hash, then run — a
 * new state wherever the content differs from the previous observation's, however observations
 * were batched, interleaved across writers or delayed. The mechanism differs: contents and
 * observations are immutable rows that are only ever inserted (each once, by their unique keys),
 * and the view `action_snapshot` derives the states from them when read; the head only moves
 * forward in observation order. So no write rewrites another, and there is nothing to re-sort.
 */
import { ActionExecution, Canonical, Identifiers } from "@pipetrail/core"
import { Effect, Either } from "effect"
import { sql, type Transaction } from "kysely"
import type { DatabaseService } from "../Database.js"
import type { Tables } from "../DatabaseSchema.js"
import type { ActionRecordResult, ActionSnapshot, ApprovalFilter, ApprovalRow } from "../SnapshotStore.js"
import { StoredDocumentError } from "./errors.js"
import type { ActionPending } from "./intake.js"
import { clean, compareMoments, storedDocument, toDate, toNumber, toNumberOrNull } from "./observation.js"

/** An action execution's identity as one string. */
const keyOf = (p: { source: string; pipelineName: string; action: ActionExecution.ActionExecution }) =>
  JSON.stringify([p.source, p.pipelineName, p.action.pipelineExecutionId, clean(p.action.actionExecutionId)])

interface Prepared extends ActionPending {
  readonly index: number
  readonly key: string
  /** Its content's identity: the action execution's key and the content hash (`rowKey` of its row). */
  readonly contentKey: string
  readonly json: string
  /**
   * The document as stored (the canonical JSON, parsed): the typed columns are read from it, so they
   * always say what the document says, whatever the object given holds beyond its own fields.
   */
  readonly doc: ActionExecution.Encoded
  readonly hash: string
  readonly hasNul: boolean
}

const prepare = (item: ActionPending, index: number): Prepared => {
  const json = ActionExecution.canonicalJson(item.action)
  const key = keyOf(item)
  const hash = Canonical.sha256(json)
  return {
    ...item,
    index,
    key,
    contentKey: `${key}#${hash}`,
    json,
    doc: JSON.parse(json) as ActionExecution.Encoded,
    hash,
    hasNul: json.includes("\\u0000")
  }
}

/**
 * Writes one batch of action observations inside a transaction: new contents, then every
 * observation (each once), then the heads, each moved only to a later observation. Statements touch
 * rows in key order, the same for every writer, so concurrent writers cannot deadlock.
 */
export const writeActions = async (
  trx: Transaction<Tables>,
  pending: ReadonlyArray<ActionPending>
): Promise<Array<ActionRecordResult>> => {
  const items = pending.map(prepare)
  const byContent = new Map<string, Prepared>()
  for (const item of items) if (!byContent.has(item.contentKey)) byContent.set(item.contentKey, item)
  const contents = [...byContent.values()].sort((a, b) => (a.contentKey < b.contentKey ? -1 : 1))
  const c = <A>(f: (r: Prepared) => A) => contents.map(f)
  const a = (r: Prepared) => r.doc
  const inserted = await sql<StateKeyRow>`
    insert into action_state (
      source, pipeline_name, pipeline_execution_id, action_execution_id, stage_name, action_name, category, owner,
      provider, action_version, status, start_time, last_update_time, updated_by, external_execution_id,
      external_execution_summary, external_execution_url, error_code, error_message, log_stream_arn,
      document, document_raw, content_hash
    )
    select t.source, t.pipeline_name, t.pipeline_execution_id, t.action_execution_id, t.stage_name, t.action_name,
      t.category, t.owner, t.provider, t.action_version, t.status, t.start_time, t.last_update_time, t.updated_by,
      t.external_execution_id, t.external_execution_summary, t.external_execution_url, t.error_code, t.error_message,
      t.log_stream_arn, d.document, decode(t.document_raw, 'hex'), t.content_hash
    from unnest(
      ${c((r) => r.source)}::text[],
      ${c((r) => r.pipelineName)}::text[],
      ${c((r) => a(r).pipelineExecutionId as string)}::text[],
      ${c((r) => clean(a(r).actionExecutionId))}::text[],
      ${c((r) => a(r).stageName as string)}::text[],
      ${c((r) => a(r).actionName as string)}::text[],
      ${c((r) => clean(a(r).input?.actionTypeId?.category))}::text[],
      ${c((r) => clean(a(r).input?.actionTypeId?.owner))}::text[],
      ${c((r) => clean(a(r).input?.actionTypeId?.provider))}::text[],
      ${c((r) => clean(a(r).input?.actionTypeId?.version))}::text[],
      ${c((r) => clean(a(r).status))}::text[],
      ${c((r) => a(r).startTime ?? null)}::timestamptz[],
      ${c((r) => a(r).lastUpdateTime ?? null)}::timestamptz[],
      ${c((r) => clean(a(r).updatedBy))}::text[],
      ${c((r) => clean(a(r).output?.executionResult?.externalExecutionId))}::text[],
      ${c((r) => clean(a(r).output?.executionResult?.externalExecutionSummary))}::text[],
      ${c((r) => clean(a(r).output?.executionResult?.externalExecutionUrl))}::text[],
      ${c((r) => clean(a(r).output?.executionResult?.errorDetails?.code))}::text[],
      ${c((r) => clean(a(r).output?.executionResult?.errorDetails?.message))}::text[],
      ${c((r) => clean(a(r).output?.executionResult?.logStreamARN))}::text[],
      ${c((r) => (r.hasNul ? Buffer.from(r.json, "utf8").toString("hex") : null))}::text[],
      ${c((r) => r.hash)}::text[]
    ) with ordinality as t(source, pipeline_name, pipeline_execution_id, action_execution_id, stage_name, action_name,
      category, owner, provider, action_version, status, start_time, last_update_time, updated_by,
      external_execution_id, external_execution_summary, external_execution_url, error_code, error_message,
      log_stream_arn, document_raw, content_hash, ord)
    join jsonb_array_elements(${`[${contents.map((r) => (r.hasNul ? r.json.replaceAll("\\u0000", "\\ufffd") : r.json)).join(",")}]`}::jsonb)
      with ordinality as d(document, ord) using (ord)
    order by t.ord
    on conflict do nothing
    returning id, source, pipeline_name, pipeline_execution_id, action_execution_id, content_hash
  `.execute(trx)
  const fresh = new Set(inserted.rows.map(rowKey))
  // Read after the insert (which waited for any writer inserting the same content to commit).
  const ids = await sql<StateKeyRow>`
    select s.id, s.source, s.pipeline_name, s.pipeline_execution_id, s.action_execution_id, s.content_hash
    from unnest(
      ${c((r) => r.source)}::text[],
      ${c((r) => r.pipelineName)}::text[],
      ${c((r) => a(r).pipelineExecutionId as string)}::text[],
      ${c((r) => clean(a(r).actionExecutionId))}::text[],
      ${c((r) => r.hash)}::text[]
    ) as k(source, pipeline_name, pipeline_execution_id, action_execution_id, content_hash)
    cross join lateral (
      select id, source, pipeline_name, pipeline_execution_id, action_execution_id, content_hash from action_state s
      where s.source = k.source and s.pipeline_name = k.pipeline_name and s.pipeline_execution_id = k.pipeline_execution_id
        and s.action_execution_id = k.action_execution_id and s.content_hash = k.content_hash
    ) s
  `.execute(trx)
  const stateOf = new Map<string, number>()
  for (const row of ids.rows) stateOf.set(rowKey(row), toNumber(row.id))
  const stateIds = items.map((r) => {
    const id = stateOf.get(r.contentKey)
    if (id === undefined) throw new Error(`action state of ${r.key} (content ${r.hash}) was not stored`)
    return id
  })
  const stateIdOf = (r: Prepared) => stateIds[r.index]!

  const observations = [
    ...new Map(items.map((r) => [`${stateIdOf(r)}#${r.observedAt.getTime()}#${r.runId ?? 0}`, r])).values()
  ].sort(
    (x, y) =>
      stateIdOf(x) - stateIdOf(y) || x.observedAt.getTime() - y.observedAt.getTime() || (x.runId ?? 0) - (y.runId ?? 0)
  )
  await sql`
    insert into action_observation (state_id, observed_at, run_id)
    select * from unnest(
      ${observations.map(stateIdOf)}::bigint[],
      ${observations.map((r) => r.observedAt.toISOString())}::timestamptz[],
      ${observations.map((r) => r.runId)}::bigint[]
    )
    on conflict do nothing
  `.execute(trx)

  // Each action execution's latest observation in this batch, in key order.
  const lastOf = new Map<string, Prepared>()
  for (const item of items) {
    const seen = lastOf.get(item.key)
    if (seen === undefined || compareMoments(item, seen) > 0) lastOf.set(item.key, item)
  }
  const heads = [...lastOf.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([, item]) => item)
  await sql`
    insert into action_head (source, pipeline_name, pipeline_execution_id, action_execution_id, state_id, observed_at,
      content_hash, run_id)
    select * from unnest(
      ${heads.map((r) => r.source)}::text[],
      ${heads.map((r) => r.pipelineName)}::text[],
      ${heads.map((r) => r.action.pipelineExecutionId as string)}::text[],
      ${heads.map((r) => clean(r.action.actionExecutionId))}::text[],
      ${heads.map(stateIdOf)}::bigint[],
      ${heads.map((r) => r.observedAt.toISOString())}::timestamptz[],
      ${heads.map((r) => r.hash)}::text[],
      ${heads.map((r) => r.runId)}::bigint[]
    )
    on conflict (source, pipeline_name, pipeline_execution_id, action_execution_id) do update
    set state_id = excluded.state_id, observed_at = excluded.observed_at, content_hash = excluded.content_hash,
      run_id = excluded.run_id
    where (excluded.observed_at, excluded.content_hash collate "C", coalesce(excluded.run_id, 0))
      > (action_head.observed_at, action_head.content_hash collate "C", coalesce(action_head.run_id, 0))
  `.execute(trx)

  const counted = new Set<string>()
  return items.map((r) => {
    const isNew = fresh.has(r.contentKey) && !counted.has(r.contentKey)
    counted.add(r.contentKey)
    return {
      pipelineExecutionId: r.action.pipelineExecutionId,
      actionExecutionId: r.action.actionExecutionId,
      outcome: isNew ? "new" : "unchanged",
      stateId: stateIdOf(r)
    }
  })
}

type StateKeyRow = {
  id: string | number
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  action_execution_id: string
  content_hash: string
}

/** A stored content's identity, as `Prepared.contentKey` spells it: its action execution (as stored) and its hash. */
const rowKey = (r: Omit<StateKeyRow, "id">) =>
  `${JSON.stringify([r.source, r.pipeline_name, r.pipeline_execution_id, r.action_execution_id])}#${r.content_hash}`

type ActionRow = {
  source: string
  pipeline_name: string
  state_id: string | number
  document: unknown
  document_raw?: Uint8Array | null
  content_hash: string
  seq?: number
  first_seen_at?: Date | string
  last_seen_at: Date | string
  seen_count?: number
}

const toActionSnapshot = (row: ActionRow): Effect.Effect<ActionSnapshot, StoredDocumentError> => {
  const id = toNumber(row.state_id)
  const raw = storedDocument(row)
  return Either.match(ActionExecution.decode(raw), {
    onLeft: (error) =>
      Effect.fail(
        new StoredDocumentError({
          snapshotId: id,
          issue: error.message,
          message: `stored action state ${id} does not decode as an action execution`
        })
      ),
    onRight: (action) =>
      Effect.succeed({
        stateId: id,
        source: row.source,
        pipelineName: Identifiers.PipelineName.make(row.pipeline_name, true),
        action,
        contentHash: row.content_hash,
        seq: row.seq === undefined ? undefined : toNumber(row.seq),
        firstSeenAt: row.first_seen_at === undefined ? undefined : toDate(row.first_seen_at),
        lastSeenAt: toDate(row.last_seen_at),
        seenCount: row.seen_count === undefined ? undefined : toNumber(row.seen_count)
      })
  })
}

/** The action reads over `db`. */
export const makeActionReads = (db: DatabaseService) => {
  /** The latest state of each action execution of an execution, in the order they started. */
  const actionsOf = (execution: { source: string; pipelineName: string; pipelineExecutionId: string }) =>
    Effect.flatMap(
      db.use("read action executions", (k) =>
        k
          .selectFrom("action_head as h")
          .innerJoin("action_state as s", "s.id", "h.state_id")
          .select([
            "h.source",
            "h.pipeline_name",
            "h.state_id",
            "s.document",
            "s.document_raw",
            "s.content_hash",
            "h.observed_at as last_seen_at"
          ])
          .where("h.source", "=", execution.source)
          .where("h.pipeline_name", "=", execution.pipelineName)
          .where("h.pipeline_execution_id", "=", execution.pipelineExecutionId)
          .orderBy(sql`s.start_time asc nulls last`)
          .orderBy("s.stage_name")
          .orderBy("s.action_name")
          .orderBy("h.action_execution_id")
          .execute()
      ),
      (rows) => Effect.forEach(rows as Array<ActionRow>, toActionSnapshot)
    )

  /** Every state of every action execution of an execution, in observation order. */
  const actionHistoryOf = (execution: { source: string; pipelineName: string; pipelineExecutionId: string }) =>
    Effect.flatMap(
      db.use("read action history", (k) =>
        k
          .selectFrom("action_snapshot as a")
          .innerJoin("action_state as s", "s.id", "a.state_id")
          .select([
            "a.source",
            "a.pipeline_name",
            "a.state_id",
            "a.seq",
            "a.document",
            "s.document_raw",
            "a.content_hash",
            "a.first_seen_at",
            "a.last_seen_at",
            "a.seen_count"
          ])
          .where("a.source", "=", execution.source)
          .where("a.pipeline_name", "=", execution.pipelineName)
          .where("a.pipeline_execution_id", "=", execution.pipelineExecutionId)
          .orderBy("a.first_seen_at")
          .orderBy(sql`a.start_time asc nulls last`)
          .orderBy("a.action_execution_id")
          .orderBy("a.seq")
          .execute()
      ),
      (rows) => Effect.forEach(rows as Array<ActionRow>, toActionSnapshot)
    )

  /** The approval audit report: newest request first. */
  const approvals = (filter: ApprovalFilter = {}) =>
    db.use("read approvals", async (k) => {
      let q = k.selectFrom("approval").selectAll()
      if (filter.source !== undefined) q = q.where("source", "=", filter.source)
      if (filter.pipelineName !== undefined) q = q.where("pipeline_name", "=", filter.pipelineName)
      if (filter.since !== undefined) q = q.where("requested_at", ">=", filter.since)
      const rows = await q
        .orderBy(sql`requested_at desc nulls last`)
        .orderBy("action_execution_id")
        .limit(filter.limit ?? 1000)
        .execute()
      return rows.map(
        (r): ApprovalRow => ({
          source: r.source,
          pipelineName: r.pipeline_name,
          pipelineExecutionId: r.pipeline_execution_id,
          stageName: r.stage_name,
          actionName: r.action_name,
          actionExecutionId: r.action_execution_id,
          requestedAt: r.requested_at === null ? undefined : toDate(r.requested_at),
          decidedAt: r.decided_at === null ? undefined : toDate(r.decided_at),
          waitSeconds: toNumberOrNull(r.wait_seconds) ?? undefined,
          decision: r.decision,
          decidedBy: r.decided_by ?? undefined,
          comment: r.comment ?? undefined,
          url: r.url ?? undefined
        })
      )
    })

  /** The executions among `ids` whose stored state's actions were not fetched completely. */
  const actionsPending = (source: string, ids: ReadonlyArray<{ pipelineName: string; pipelineExecutionId: string }>) =>
    ids.length === 0
      ? Effect.succeed(new Set<string>())
      : Effect.map(
          db.use("read executions whose actions are not stored", (k) =>
            sql<{ pipeline_name: string; pipeline_execution_id: string }>`
                select h.pipeline_name, h.pipeline_execution_id
                from unnest(${ids.map((i) => i.pipelineName)}::text[], ${ids.map((i) => i.pipelineExecutionId)}::text[])
                  as k(pipeline_name, pipeline_execution_id)
                join execution_head h on h.source = ${source} and h.pipeline_name = k.pipeline_name
                  and h.pipeline_execution_id = k.pipeline_execution_id
                where h.actions_synced_hash is distinct from h.content_hash
              `.execute(k)
          ),
          (result) => new Set(result.rows.map((r) => `${r.pipeline_name}/${r.pipeline_execution_id}`))
        )

  /** Marks an execution's actions fetched completely for its state with `contentHash`. */
  const markActionsSynced = (
    source: string,
    execution: { pipelineName: string; pipelineExecutionId: string; contentHash: string }
  ) =>
    db.use("mark actions stored", (k) =>
      k
        .updateTable("execution_head")
        .set({ actions_synced_hash: execution.contentHash })
        .where("source", "=", source)
        .where("pipeline_name", "=", execution.pipelineName)
        .where("pipeline_execution_id", "=", execution.pipelineExecutionId)
        .execute()
        .then(() => undefined)
    )

  return { actionsOf, actionHistoryOf, approvals, actionsPending, markActionsSynced }
}
