import { Canonical, Diff, ExecutionDocument } from "@pipetrail/core"
import { Clock, Context, Effect, Either, Layer, Option, Schema } from "effect"
import { sql } from "kysely"
import { Database } from "./Database.js"
import { DatabaseError, fromCause } from "./DatabaseError.js"
import { clean, keyOf, type Pending, writeBatch } from "./internal/write.js"

/** Where a snapshot came from: an AWS account and region (`aws:123456789012:eu-west-1`) or a label. */
export type Source = string

/** One observation of an execution to record. */
export interface RecordInput {
  readonly source: Source
  readonly document: ExecutionDocument.ExecutionDocument
  /**
   * When its response was received (core's `observePipelineExecution` gives it). Observations are
   * applied in this order, whatever order they are recorded in.
   */
  readonly observedAt: Date
  /** The job run that fetched it. */
  readonly runId?: number
}

/**
 * What recording one observation did: `new` when it starts a state no stored row held, else
 * `unchanged`; the state it belongs to (its row and its place in the history, after this write).
 */
export interface RecordResult {
  readonly pipelineName: string
  readonly pipelineExecutionId: string
  readonly outcome: "new" | "unchanged"
  readonly snapshotId: number
  readonly seq: number
}

/** One stored state of an execution. */
export interface Snapshot {
  readonly id: number
  readonly source: Source
  readonly pipelineName: string
  readonly pipelineExecutionId: string
  /** 1 for the first state stored, then 2, 3…: the state's position in the execution's history. */
  readonly seq: number
  readonly status: string
  readonly document: ExecutionDocument.ExecutionDocument
  readonly contentHash: string
  readonly firstSeenAt: Date
  readonly lastSeenAt: Date
  readonly seenCount: number
}

/** One step of an execution's history: the state and what changed since the previous one. */
export interface HistoryEntry {
  readonly snapshot: Snapshot
  readonly changes: ReadonlyArray<Diff.Change>
}

/** Which execution: the id, narrowed by source and pipeline when the id alone is ambiguous. */
export interface ExecutionKey {
  readonly pipelineExecutionId: string
  readonly pipelineName?: string
  readonly source?: Source
}

/** Filters of `list`. */
export interface ListFilter {
  readonly source?: Source
  readonly pipelineName?: string
  readonly status?: string
  /** Executions that started at or after this time. */
  readonly since?: Date
  /** Executions that started before this time. */
  readonly until?: Date
  /** At most this many (default 100), newest first. */
  readonly limit?: number
}

/** The latest stored state of an execution, as `watch` needs it. */
export interface Head {
  readonly source: Source
  readonly pipelineName: string
  readonly pipelineExecutionId: string
  readonly status: string
  readonly seq: number
}

/** A response that was not stored as an execution, to keep: its bytes when they are known, else `payload`. */
export interface RejectedInput {
  readonly source: Source
  readonly runId?: number
  readonly operation: string
  readonly pipelineName?: string
  readonly pipelineExecutionId?: string
  /** What could be parsed of it; kept (as canonical JSON) only when `response` is absent. */
  readonly payload: unknown
  readonly issue: string
  /** The HTTP answer as it arrived: its bytes are kept exactly. */
  readonly response?: {
    readonly status: number
    readonly requestId?: string
    readonly contentType?: string
    readonly body: Uint8Array
  }
}

/** How a job run ended. */
export type RunOutcome = "succeeded" | "partial" | "failed" | "interrupted"

/** A job run's counts. */
export interface RunCounts {
  readonly fetched: number
  readonly newSnapshots: number
  readonly unchanged: number
  readonly rejected: number
  readonly failed: number
}

/** A job run as stored. */
export interface Run extends RunCounts {
  readonly id: number
  readonly source: Source
  readonly startedAt: Date
  readonly finishedAt: Date | undefined
  readonly selection: unknown
  readonly outcome: RunOutcome | "running"
  readonly error: string | undefined
}

/** No snapshot with that id. */
export class SnapshotNotFoundError extends Schema.TaggedError<SnapshotNotFoundError>()("SnapshotNotFoundError", {
  snapshotId: Schema.Number,
  message: Schema.String
}) {}

/** No stored execution matches the key. */
export class ExecutionNotStoredError extends Schema.TaggedError<ExecutionNotStoredError>()("ExecutionNotStoredError", {
  pipelineExecutionId: Schema.String,
  message: Schema.String
}) {}

/** The execution id matches executions of several sources or pipelines: say which. */
export class AmbiguousExecutionError extends Schema.TaggedError<AmbiguousExecutionError>()("AmbiguousExecutionError", {
  pipelineExecutionId: Schema.String,
  candidates: Schema.Array(Schema.Struct({ source: Schema.String, pipelineName: Schema.String })),
  message: Schema.String
}) {}

/** A stored document no longer decodes (written by a newer pipetrail?). */
export class StoredDocumentError extends Schema.TaggedError<StoredDocumentError>()("StoredDocumentError", {
  snapshotId: Schema.Number,
  issue: Schema.String,
  message: Schema.String
}) {}

/** Every way a store call can fail. */
export type StoreError =
  | DatabaseError
  | SnapshotNotFoundError
  | ExecutionNotStoredError
  | AmbiguousExecutionError
  | StoredDocumentError

/** The snapshot store: records execution states, and reads history, latest states and diffs. */
export interface SnapshotStoreService {
  /** Records one state: a new row when it differs from the latest stored state, else a seen-count bump. */
  readonly record: (input: RecordInput) => Effect.Effect<RecordResult, DatabaseError>
  /** Records a batch in one transaction, in order; all of it is written or none of it. */
  readonly recordMany: (inputs: ReadonlyArray<RecordInput>) => Effect.Effect<ReadonlyArray<RecordResult>, DatabaseError>
  /** Keeps a payload that failed to decode, verbatim; returns its id. */
  readonly recordRejected: (input: RejectedInput) => Effect.Effect<number, DatabaseError>
  /** An execution's states, oldest first, each with its changes from the previous state. */
  readonly history: (key: ExecutionKey) => Effect.Effect<ReadonlyArray<HistoryEntry>, StoreError>
  /** The latest stored state of an execution, if it is stored. */
  readonly latest: (key: ExecutionKey) => Effect.Effect<Option.Option<Snapshot>, StoreError>
  /** Latest states of executions matching the filter, newest start first. */
  readonly list: (filter?: ListFilter) => Effect.Effect<ReadonlyArray<Snapshot>, StoreError>
  /** One snapshot by id. */
  readonly snapshot: (id: number) => Effect.Effect<Snapshot, StoreError>
  /** What changed from snapshot `a` to snapshot `b`. */
  readonly diffSnapshots: (a: number, b: number) => Effect.Effect<ReadonlyArray<Diff.Change>, StoreError>
  /** What differs between the latest states of two executions. */
  readonly diffExecutions: (a: ExecutionKey, b: ExecutionKey) => Effect.Effect<ReadonlyArray<Diff.Change>, StoreError>
  /** Latest status of every stored execution of a source (optionally of some pipelines): one query. */
  readonly heads: (
    source: Source,
    pipelineNames?: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<Head>, DatabaseError>
  /** Starts a job run; returns its id. */
  readonly startRun: (source: Source, selection: unknown) => Effect.Effect<number, DatabaseError>
  /** Finishes a job run with its counts and outcome. */
  readonly finishRun: (
    id: number,
    result: RunCounts & { readonly outcome: RunOutcome; readonly error?: string }
  ) => Effect.Effect<void, DatabaseError>
  /** The most recent job runs, newest first. */
  readonly runs: (limit?: number) => Effect.Effect<ReadonlyArray<Run>, DatabaseError>
}

/** The snapshot store service. */
export class SnapshotStore extends Context.Tag("@pipetrail/store/SnapshotStore")<
  SnapshotStore,
  SnapshotStoreService
>() {}

const probeRollback = new Error("probe rolled back")

const toNumber = (value: unknown): number => (typeof value === "number" ? value : Number(value))
const toDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)))
const bytesToString = (value: unknown): string => Buffer.from(value as Uint8Array).toString("utf8")

type SnapshotRow = {
  id: string | number
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  seq: number
  status: string
  document: unknown
  document_raw: Uint8Array | null
  content_hash: string
  first_seen_at: Date | string
  last_seen_at: Date | string
  seen_count: number
}

const snapshotColumns = [
  "id",
  "source",
  "pipeline_name",
  "pipeline_execution_id",
  "seq",
  "status",
  "document",
  "document_raw",
  "content_hash",
  "first_seen_at",
  "last_seen_at",
  "seen_count"
] as const

const toSnapshot = (row: SnapshotRow): Effect.Effect<Snapshot, StoredDocumentError> => {
  const id = toNumber(row.id)
  const raw = row.document_raw === null ? row.document : JSON.parse(bytesToString(row.document_raw))
  return Either.match(ExecutionDocument.decode(raw), {
    onLeft: (error) =>
      Effect.fail(
        new StoredDocumentError({
          snapshotId: id,
          issue: error.message,
          message: `stored snapshot ${id} does not decode as an execution document`
        })
      ),
    onRight: (document) =>
      Effect.succeed({
        id,
        source: row.source,
        pipelineName: row.pipeline_name,
        pipelineExecutionId: row.pipeline_execution_id,
        seq: toNumber(row.seq),
        status: row.status,
        document,
        contentHash: row.content_hash,
        firstSeenAt: toDate(row.first_seen_at),
        lastSeenAt: toDate(row.last_seen_at),
        seenCount: toNumber(row.seen_count)
      })
  })
}

/** Builds the store over the `Database` in context. */
export const make = Effect.gen(function* () {
  const db = yield* Database

  const pend = (inputs: ReadonlyArray<RecordInput>): Array<Pending> =>
    inputs.map((input) => ({
      key: keyOf(input.source, input.document.pipelineName, input.document.pipelineExecutionId),
      source: input.source,
      document: input.document,
      observedAt: input.observedAt,
      runId: input.runId ?? null
    }))

  const recordMany = (inputs: ReadonlyArray<RecordInput>) =>
    inputs.length === 0
      ? Effect.succeed([] as ReadonlyArray<RecordResult>)
      : Effect.suspend(() => {
          const items = pend(inputs)
          const which =
            items.length === 1
              ? `record ${items[0]!.document.pipelineName}/${items[0]!.document.pipelineExecutionId}`
              : `record batch of ${items.length} executions (${items
                  .slice(0, 3)
                  .map((i) => i.document.pipelineExecutionId)
                  .join(", ")}${items.length > 3 ? ", …" : ""})`
          return db
            .transaction(which, (trx) => writeBatch(trx, items))
            .pipe(Effect.catchAll((error) => (items.length === 1 ? Effect.fail(error) : blame(which, items, error))))
        })

  /**
   * After a batch failed (and rolled back), replays each item alone in a transaction that is always
   * rolled back, to name the execution that breaks it; nothing is written.
   */
  const blame = (which: string, items: ReadonlyArray<Pending>, error: DatabaseError) =>
    Effect.gen(function* () {
      for (const item of items) {
        const probe = yield* Effect.promise(() =>
          db.kysely
            .transaction()
            .execute(async (trx) => {
              await writeBatch(trx, [item])
              throw probeRollback
            })
            .then(
              () => undefined,
              (cause: unknown) => (cause === probeRollback ? undefined : cause)
            )
        )
        if (probe !== undefined) {
          const culprit = fromCause("", probe)
          return yield* new DatabaseError({
            operation: `${which}: ${item.document.pipelineName}/${item.document.pipelineExecutionId} failed`,
            message: culprit.message,
            ...(culprit.code === undefined ? {} : { code: culprit.code }),
            ...(culprit.detail === undefined ? {} : { detail: culprit.detail })
          })
        }
      }
      return yield* error
    })

  const record = (input: RecordInput) => Effect.map(recordMany([input]), (results) => results[0]!)

  const recordRejected = (input: RejectedInput) =>
    db.use(`keep rejected ${input.operation} payload`, async (k) => {
      const raw = input.response
      const text =
        raw !== undefined
          ? Buffer.from(raw.body).toString("utf8")
          : typeof input.payload === "string"
            ? input.payload
            : Canonical.stringify(input.payload)
      let json: string | null = null
      try {
        const parsed: unknown = JSON.parse(text)
        // jsonb holds no NUL and PostgreSQL refuses very deep nesting: such payloads stay bytes only.
        json =
          text.includes("\\u0000") || Canonical.deeperThan(parsed, Canonical.maxDepth)
            ? null
            : Canonical.stringify(parsed)
      } catch {
        json = null
      }
      const row = await k
        .insertInto("rejected_response")
        .values({
          source: input.source,
          run_id: input.runId ?? null,
          operation: input.operation,
          pipeline_name: clean(input.pipelineName),
          pipeline_execution_id: clean(input.pipelineExecutionId),
          payload: raw !== undefined ? Buffer.from(raw.body) : Buffer.from(text, "utf8"),
          payload_json: json,
          issue: clean(input.issue) ?? "",
          http_status: raw?.status ?? null,
          request_id: clean(raw?.requestId),
          content_type: clean(raw?.contentType),
          payload_is_raw: raw !== undefined
        })
        .returning("id")
        .executeTakeFirstOrThrow()
      return toNumber(row.id)
    })

  const resolve = (key: ExecutionKey) =>
    Effect.gen(function* () {
      const candidates = yield* db.use("find execution", (k) => {
        let q = k
          .selectFrom("execution_head")
          .select(["source", "pipeline_name"])
          .where("pipeline_execution_id", "=", key.pipelineExecutionId)
          .where("snapshot_id", "is not", null)
        if (key.source !== undefined) q = q.where("source", "=", key.source)
        if (key.pipelineName !== undefined) q = q.where("pipeline_name", "=", key.pipelineName)
        return q.orderBy("source").orderBy("pipeline_name").execute()
      })
      if (candidates.length > 1) {
        return yield* new AmbiguousExecutionError({
          pipelineExecutionId: key.pipelineExecutionId,
          candidates: candidates.map((c) => ({ source: c.source, pipelineName: c.pipeline_name })),
          message: `execution ${key.pipelineExecutionId} is stored for ${candidates
            .map((c) => `${c.source}/${c.pipeline_name}`)
            .join(" and ")}: give the source or pipeline`
        })
      }
      return Option.fromNullable(candidates[0])
    })

  const history = (key: ExecutionKey) =>
    Effect.gen(function* () {
      // One round trip: every state of every stored execution with this id, then checked for ambiguity.
      const rows = (yield* db.use("read history", (k) => {
        let q = k
          .selectFrom("execution_snapshot")
          .select(snapshotColumns)
          .where("pipeline_execution_id", "=", key.pipelineExecutionId)
        if (key.source !== undefined) q = q.where("source", "=", key.source)
        if (key.pipelineName !== undefined) q = q.where("pipeline_name", "=", key.pipelineName)
        return q.orderBy("source").orderBy("pipeline_name").orderBy("seq").execute()
      })) as Array<SnapshotRow>
      if (rows.length === 0) {
        return yield* new ExecutionNotStoredError({
          pipelineExecutionId: key.pipelineExecutionId,
          message: `execution ${key.pipelineExecutionId} is not in the store`
        })
      }
      const owners = [...new Map(rows.map((r) => [`${r.source}\u0000${r.pipeline_name}`, r])).values()]
      if (owners.length > 1) {
        return yield* new AmbiguousExecutionError({
          pipelineExecutionId: key.pipelineExecutionId,
          candidates: owners.map((c) => ({ source: c.source, pipelineName: c.pipeline_name })),
          message: `execution ${key.pipelineExecutionId} is stored for ${owners
            .map((c) => `${c.source}/${c.pipeline_name}`)
            .join(" and ")}: give the source or pipeline`
        })
      }
      const snapshots = yield* Effect.forEach(rows, toSnapshot)
      return snapshots.map((snapshot, i) => ({
        snapshot,
        changes: i === 0 ? [] : Diff.diff(snapshots[i - 1]!.document, snapshot.document)
      }))
    })

  const latest = (key: ExecutionKey) =>
    Effect.gen(function* () {
      const found = yield* resolve(key)
      if (Option.isNone(found)) return Option.none<Snapshot>()
      const row = yield* db.use("read latest state", (k) =>
        k
          .selectFrom("execution_head as h")
          .innerJoin("execution_snapshot as s", "s.id", "h.snapshot_id")
          .select(snapshotColumns.map((c) => `s.${c}` as const))
          .where("h.source", "=", found.value.source)
          .where("h.pipeline_name", "=", found.value.pipeline_name)
          .where("h.pipeline_execution_id", "=", key.pipelineExecutionId)
          .executeTakeFirst()
      )
      return row === undefined ? Option.none<Snapshot>() : Option.some(yield* toSnapshot(row as SnapshotRow))
    })

  const list = (filter: ListFilter = {}) =>
    Effect.gen(function* () {
      const rows = yield* db.use("list executions", (k) => {
        let q = k
          .selectFrom("execution_head as h")
          .innerJoin("execution_snapshot as s", "s.id", "h.snapshot_id")
          .select(snapshotColumns.map((c) => `s.${c}` as const))
        if (filter.source !== undefined) q = q.where("h.source", "=", filter.source)
        if (filter.pipelineName !== undefined) q = q.where("h.pipeline_name", "=", filter.pipelineName)
        if (filter.status !== undefined) q = q.where("h.status", "=", filter.status)
        if (filter.since !== undefined) q = q.where("h.start_time", ">=", filter.since)
        if (filter.until !== undefined) q = q.where("h.start_time", "<", filter.until)
        return q
          .orderBy(sql`h.start_time desc nulls last`)
          .orderBy("h.pipeline_execution_id")
          .limit(filter.limit ?? 100)
          .execute()
      })
      return yield* Effect.forEach(rows as Array<SnapshotRow>, toSnapshot)
    })

  const snapshot = (id: number) =>
    Effect.gen(function* () {
      const row = yield* db.use("read snapshot", (k) =>
        k.selectFrom("execution_snapshot").select(snapshotColumns).where("id", "=", id).executeTakeFirst()
      )
      if (row === undefined) {
        return yield* new SnapshotNotFoundError({ snapshotId: id, message: `no snapshot with id ${id}` })
      }
      return yield* toSnapshot(row as SnapshotRow)
    })

  const latestOrFail = (key: ExecutionKey) =>
    Effect.flatMap(latest(key), (found) =>
      Option.match(found, {
        onNone: () =>
          Effect.fail(
            new ExecutionNotStoredError({
              pipelineExecutionId: key.pipelineExecutionId,
              message: `execution ${key.pipelineExecutionId} is not in the store`
            })
          ),
        onSome: Effect.succeed
      })
    )

  const diffSnapshots = (a: number, b: number) =>
    Effect.zipWith(snapshot(a), snapshot(b), (x, y) => Diff.diff(x.document, y.document))

  const diffExecutions = (a: ExecutionKey, b: ExecutionKey) =>
    Effect.zipWith(latestOrFail(a), latestOrFail(b), (x, y) => Diff.diff(x.document, y.document))

  const heads = (source: Source, pipelineNames?: ReadonlyArray<string>) =>
    db.use("read execution heads", async (k) => {
      let q = k
        .selectFrom("execution_head")
        .select(["source", "pipeline_name", "pipeline_execution_id", "status", "seq"])
        .where("source", "=", source)
        .where("snapshot_id", "is not", null)
      if (pipelineNames !== undefined) {
        if (pipelineNames.length === 0) return []
        q = q.where("pipeline_name", "in", pipelineNames)
      }
      const rows = await q.execute()
      return rows.map((r) => ({
        source: r.source,
        pipelineName: r.pipeline_name,
        pipelineExecutionId: r.pipeline_execution_id,
        status: r.status ?? "",
        seq: toNumber(r.seq)
      }))
    })

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
          outcome: r.outcome,
          error: r.error ?? undefined
        })
      )
    })

  return SnapshotStore.of({
    record,
    recordMany,
    recordRejected,
    history,
    latest,
    list,
    snapshot,
    diffSnapshots,
    diffExecutions,
    heads,
    startRun,
    finishRun,
    runs
  })
})

/** The store over the `Database` layer in context. */
export const layer: Layer.Layer<SnapshotStore, never, Database> = Layer.effect(SnapshotStore, make)
