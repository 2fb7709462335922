import {
  type ActionExecution,
  Diff,
  type ExecutionDocument,
  type Identifiers,
  type PipelineExecution
} from "@pipetrail/core"
import { Context, Effect, Layer, Option } from "effect"
import { Database } from "./Database.js"
import { DatabaseError, fromCause } from "./DatabaseError.js"
import { makeActionReads, writeActions } from "./internal/actions.js"
import type {
  AmbiguousExecutionError,
  ExecutionNotStoredError,
  InvalidObservationError,
  SnapshotNotFoundError,
  StoredDocumentError
} from "./internal/errors.js"
import { notStored } from "./internal/errors.js"
import { actionPendingOf, pendingOf } from "./internal/intake.js"
import { makeReads } from "./internal/reads.js"
import { makeRecordRejected } from "./internal/rejected.js"
import { makeRuns } from "./internal/runs.js"
import { type Pending, writeBatch } from "./internal/write.js"

/** A pipeline name and an execution id, as core brands them. */
type PipelineName = Identifiers.PipelineName
type PipelineExecutionId = Identifiers.PipelineExecutionId

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
  readonly pipelineName: PipelineName
  readonly pipelineExecutionId: PipelineExecutionId
  readonly outcome: "new" | "unchanged"
  readonly snapshotId: number
  readonly seq: number
  /** The content hash of what was recorded (the canonical JSON's SHA-256). */
  readonly contentHash: string
}

/** One stored state of an execution. */
export interface Snapshot {
  readonly id: number
  readonly source: Source
  readonly pipelineName: PipelineName
  readonly pipelineExecutionId: PipelineExecutionId
  /** 1 for the first state stored, then 2, 3…: the state's position in the execution's history. */
  readonly seq: number
  readonly status: PipelineExecution.PipelineExecutionStatus
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
  /**
   * The states its action executions took while the execution was in this state (first seen from
   * this state's first sighting until the next state's), each with what changed since that action
   * execution's previous state.
   */
  readonly actions: ReadonlyArray<ActionStep>
}

/** One state of an action execution in an execution's history, and what changed since its previous state. */
export interface ActionStep {
  readonly snapshot: ActionSnapshot
  readonly changes: ReadonlyArray<Diff.Change>
}

/** Which execution: the id, narrowed by source and pipeline when the id alone is ambiguous. */
export interface ExecutionKey {
  readonly pipelineExecutionId: PipelineExecutionId
  readonly pipelineName?: PipelineName
  readonly source?: Source
}

/** Filters of `list`. */
export interface ListFilter {
  readonly source?: Source
  readonly pipelineName?: PipelineName
  readonly status?: PipelineExecution.PipelineExecutionStatus
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
  readonly pipelineName: PipelineName
  readonly pipelineExecutionId: PipelineExecutionId
  readonly status: PipelineExecution.PipelineExecutionStatus
  readonly seq: number
  /** Its latest state's content hash. */
  readonly contentHash: string | undefined
  /** Whether its action executions were fetched completely for this state. */
  readonly actionsSynced: boolean
}

/** One observation of an action execution to record. */
export interface ActionRecordInput {
  readonly source: Source
  /** The pipeline it belongs to (an action execution does not name it). */
  readonly pipelineName: PipelineName
  readonly action: ActionExecution.ActionExecution
  /** When its response was received (core's `observeActionExecutions` gives it). */
  readonly observedAt: Date
  /** The job run that fetched it. */
  readonly runId?: number
}

/** What recording one action observation did: `new` when its content was not stored before. */
export interface ActionRecordResult {
  readonly pipelineExecutionId: PipelineExecutionId
  readonly actionExecutionId: Identifiers.ActionExecutionId
  readonly outcome: "new" | "unchanged"
  /** The `action_state` row holding its content. */
  readonly stateId: number
}

/** One stored state of an action execution. */
export interface ActionSnapshot {
  /** The `action_state` row holding its content. */
  readonly stateId: number
  readonly source: Source
  readonly pipelineName: PipelineName
  readonly action: ActionExecution.ActionExecution
  readonly contentHash: string
  /** Its place in the action execution's history, in reads of every state (`actionHistory`). */
  readonly seq: number | undefined
  readonly firstSeenAt: Date | undefined
  readonly lastSeenAt: Date
  readonly seenCount: number | undefined
}

/** Filters of `approvals`. */
export interface ApprovalFilter {
  readonly source?: Source
  readonly pipelineName?: PipelineName
  /** Approvals requested at or after this time. */
  readonly since?: Date
  /** At most this many (default 1000), newest first. */
  readonly limit?: number
}

/** One manual approval, as the `approval` view reports it. */
export interface ApprovalRow {
  readonly source: Source
  readonly pipelineName: string
  readonly pipelineExecutionId: string
  readonly stageName: string
  readonly actionName: string
  readonly actionExecutionId: string
  readonly requestedAt: Date | undefined
  readonly decidedAt: Date | undefined
  readonly waitSeconds: number | undefined
  /** `approved`, `rejected`, `pending`, `abandoned` (or a status AWS added later). */
  readonly decision: string
  /** The approver's ARN. */
  readonly decidedBy: string | undefined
  /** The approver's comment. */
  readonly comment: string | undefined
  readonly url: string | undefined
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
  /** Action execution observations received, and action contents stored for the first time (0 when absent). */
  readonly actionsFetched?: number
  readonly newActionStates?: number
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

export {
  AmbiguousExecutionError,
  ExecutionNotStoredError,
  InvalidObservationError,
  SnapshotNotFoundError,
  StoredDocumentError
} from "./internal/errors.js"

/** Every way a store read can fail; each read's own type names the ones it can. */
export type StoreError =
  | DatabaseError
  | SnapshotNotFoundError
  | ExecutionNotStoredError
  | AmbiguousExecutionError
  | StoredDocumentError

/** The snapshot store: records execution states, and reads history, latest states and diffs. */
export interface SnapshotStoreService {
  /** Records one state: a new row when it differs from the latest stored state, else a seen-count bump. */
  readonly record: (input: RecordInput) => Effect.Effect<RecordResult, DatabaseError | InvalidObservationError>
  /** Records a batch in one transaction, in order; all of it is written or none of it. */
  readonly recordMany: (
    inputs: ReadonlyArray<RecordInput>
  ) => Effect.Effect<ReadonlyArray<RecordResult>, DatabaseError | InvalidObservationError>
  /** Keeps a payload that failed to decode, verbatim; returns its id. */
  readonly recordRejected: (input: RejectedInput) => Effect.Effect<number, DatabaseError>
  /** An execution's states, oldest first, each with its changes from the previous state. */
  readonly history: (
    key: ExecutionKey
  ) => Effect.Effect<
    ReadonlyArray<HistoryEntry>,
    DatabaseError | ExecutionNotStoredError | AmbiguousExecutionError | StoredDocumentError
  >
  /** The latest stored state of an execution, if it is stored. */
  readonly latest: (
    key: ExecutionKey
  ) => Effect.Effect<Option.Option<Snapshot>, DatabaseError | AmbiguousExecutionError | StoredDocumentError>
  /** Latest states of executions matching the filter, newest start first. */
  readonly list: (filter?: ListFilter) => Effect.Effect<ReadonlyArray<Snapshot>, DatabaseError | StoredDocumentError>
  /** One snapshot by id. */
  readonly snapshot: (
    id: number
  ) => Effect.Effect<Snapshot, DatabaseError | SnapshotNotFoundError | StoredDocumentError>
  /** What changed from snapshot `a` to snapshot `b`. */
  readonly diffSnapshots: (
    a: number,
    b: number
  ) => Effect.Effect<ReadonlyArray<Diff.Change>, DatabaseError | SnapshotNotFoundError | StoredDocumentError>
  /** What differs between the latest states of two executions, their actions included (`Diff.diffActions`). */
  readonly diffExecutions: (
    a: ExecutionKey,
    b: ExecutionKey
  ) => Effect.Effect<
    ReadonlyArray<Diff.Change>,
    DatabaseError | ExecutionNotStoredError | AmbiguousExecutionError | StoredDocumentError
  >
  /** Latest status of every stored execution of a source (optionally of some pipelines): one query. */
  readonly heads: (
    source: Source,
    pipelineNames?: ReadonlyArray<PipelineName>
  ) => Effect.Effect<ReadonlyArray<Head>, DatabaseError>
  /**
   * Records a batch of action observations in one transaction; all of it is written or none of it.
   * Each action execution's history is the replay of its observations in observation order.
   */
  readonly recordActions: (
    inputs: ReadonlyArray<ActionRecordInput>
  ) => Effect.Effect<ReadonlyArray<ActionRecordResult>, DatabaseError | InvalidObservationError>
  /** The latest state of each action execution of an execution, in the order they started. */
  readonly actions: (
    key: ExecutionKey
  ) => Effect.Effect<
    ReadonlyArray<ActionSnapshot>,
    DatabaseError | ExecutionNotStoredError | AmbiguousExecutionError | StoredDocumentError
  >
  /** Every stored state of every action execution of an execution, by first sighting. */
  readonly actionHistory: (
    key: ExecutionKey
  ) => Effect.Effect<
    ReadonlyArray<ActionSnapshot>,
    DatabaseError | ExecutionNotStoredError | AmbiguousExecutionError | StoredDocumentError
  >
  /** Manual approvals (the `approval` view), newest request first. */
  readonly approvals: (filter?: ApprovalFilter) => Effect.Effect<ReadonlyArray<ApprovalRow>, DatabaseError>
  /** Which of these executions (`pipeline/id`) have a stored state whose action executions were not fetched completely. */
  readonly actionsPending: (
    source: Source,
    executions: ReadonlyArray<{
      readonly pipelineName: PipelineName
      readonly pipelineExecutionId: PipelineExecutionId
    }>
  ) => Effect.Effect<ReadonlySet<string>, DatabaseError>
  /** Marks an execution's action executions fetched completely for its state with `contentHash`. */
  readonly markActionsSynced: (
    source: Source,
    execution: {
      readonly pipelineName: PipelineName
      readonly pipelineExecutionId: PipelineExecutionId
      readonly contentHash: string
    }
  ) => Effect.Effect<void, DatabaseError>
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

/** Builds the store over the `Database` in context. */
export const make = Effect.gen(function* () {
  const db = yield* Database

  const pend = (inputs: ReadonlyArray<RecordInput>): Effect.Effect<Array<Pending>, InvalidObservationError> =>
    Effect.forEach(inputs, pendingOf)

  const recordMany = (
    inputs: ReadonlyArray<RecordInput>
  ): Effect.Effect<ReadonlyArray<RecordResult>, DatabaseError | InvalidObservationError> =>
    inputs.length === 0
      ? Effect.succeed([] as ReadonlyArray<RecordResult>)
      : Effect.flatMap(pend(inputs), (items) => {
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
            ...(culprit.detail === undefined ? {} : { detail: culprit.detail }),
            ...(culprit.cause === undefined ? {} : { cause: culprit.cause })
          })
        }
      }
      return yield* error
    })

  const record = (input: RecordInput) => Effect.map(recordMany([input]), (results) => results[0]!)

  const recordActions = (
    inputs: ReadonlyArray<ActionRecordInput>
  ): Effect.Effect<ReadonlyArray<ActionRecordResult>, DatabaseError | InvalidObservationError> =>
    inputs.length === 0
      ? Effect.succeed([] as ReadonlyArray<ActionRecordResult>)
      : Effect.flatMap(Effect.forEach(inputs, actionPendingOf), (items) =>
          db.transaction(`record ${items.length} action observations`, (trx) => writeActions(trx, items))
        )
  const actionReads = makeActionReads(db)
  /** The latest state of the one stored execution `key` names, or why there is none. */
  const storedLatest = (key: ExecutionKey) =>
    Effect.flatMap(latest(key), (found) =>
      Option.match(found, {
        onNone: () => Effect.fail(notStored(key.pipelineExecutionId)),
        onSome: Effect.succeed
      })
    )

  const recordRejected = makeRecordRejected(db)
  const { history: executionHistory, latest, list, snapshot, diffSnapshots, heads } = makeReads(db)

  /** The execution's states, each with the action states first seen while it held. */
  const history = (key: ExecutionKey) =>
    Effect.gen(function* () {
      const entries = yield* executionHistory(key)
      const first = entries[0]!.snapshot
      const states = yield* actionReads.actionHistoryOf(first)
      const previous = new Map<string, ActionExecution.ActionExecution>()
      const steps = states.map((state) => {
        const changes = Diff.diffAction(previous.get(state.action.actionExecutionId), state.action)
        previous.set(state.action.actionExecutionId, state.action)
        return { snapshot: state, changes }
      })
      return entries.map((entry, i): HistoryEntry => {
        const from = i === 0 ? Number.NEGATIVE_INFINITY : entry.snapshot.firstSeenAt.getTime()
        const until = entries[i + 1]?.snapshot.firstSeenAt.getTime() ?? Number.POSITIVE_INFINITY
        return {
          ...entry,
          actions: steps.filter((step) => {
            const at = step.snapshot.firstSeenAt?.getTime() ?? 0
            return at >= from && at < until
          })
        }
      })
    })

  const diffExecutions = (a: ExecutionKey, b: ExecutionKey) =>
    Effect.gen(function* () {
      const [x, y] = yield* Effect.all([storedLatest(a), storedLatest(b)])
      const [xs, ys] = yield* Effect.all([actionReads.actionsOf(x), actionReads.actionsOf(y)])
      return [
        ...Diff.diff(x.document, y.document),
        ...Diff.diffActions(
          xs.map((s) => s.action),
          ys.map((s) => s.action)
        )
      ]
    })
  const { startRun, finishRun, runs } = makeRuns(db)

  return SnapshotStore.of({
    record: (input) =>
      record(input).pipe(
        Effect.tap((result) => Effect.annotateCurrentSpan("outcome", result.outcome)),
        span("record", {
          pipelineName: input.document.pipelineName,
          pipelineExecutionId: input.document.pipelineExecutionId
        })
      ),
    recordMany: (inputs) =>
      recordMany(inputs).pipe(
        Effect.tap((results) =>
          Effect.annotateCurrentSpan({
            new: results.filter((r) => r.outcome === "new").length,
            unchanged: results.filter((r) => r.outcome === "unchanged").length
          })
        ),
        span("recordMany", { batchSize: inputs.length })
      ),
    recordRejected: (input) => recordRejected(input).pipe(span("recordRejected", { operation: input.operation })),
    history: (key) => history(key).pipe(span("history", { ...key })),
    latest: (key) => latest(key).pipe(span("latest", { ...key })),
    list: (filter) =>
      list(filter).pipe(
        Effect.tap((rows) => Effect.annotateCurrentSpan("rows", rows.length)),
        span("list", { ...filter })
      ),
    snapshot: (id) => snapshot(id).pipe(span("snapshot", { id })),
    diffSnapshots: (a, b) => diffSnapshots(a, b).pipe(span("diffSnapshots", { a, b })),
    diffExecutions: (a, b) =>
      diffExecutions(a, b).pipe(span("diffExecutions", { a: a.pipelineExecutionId, b: b.pipelineExecutionId })),
    heads: (source, pipelineNames) =>
      heads(source, pipelineNames).pipe(
        span("heads", { source, ...(pipelineNames === undefined ? {} : { pipelines: pipelineNames.length }) })
      ),
    recordActions: (inputs) =>
      recordActions(inputs).pipe(
        Effect.tap((results) => Effect.annotateCurrentSpan({ new: results.filter((r) => r.outcome === "new").length })),
        span("recordActions", { batchSize: inputs.length })
      ),
    actions: (key) => Effect.flatMap(storedLatest(key), actionReads.actionsOf).pipe(span("actions", { ...key })),
    actionHistory: (key) =>
      Effect.flatMap(storedLatest(key), actionReads.actionHistoryOf).pipe(span("actionHistory", { ...key })),
    approvals: (filter) => actionReads.approvals(filter).pipe(span("approvals", { ...filter })),
    actionsPending: (source, executions) =>
      actionReads.actionsPending(source, executions).pipe(span("actionsPending", { executions: executions.length })),
    markActionsSynced: (source, execution) =>
      actionReads.markActionsSynced(source, execution).pipe(span("markActionsSynced", { ...execution })),
    startRun: (source, selection) =>
      startRun(source, selection).pipe(
        Effect.tap((runId) => Effect.annotateCurrentSpan("runId", runId)),
        span("startRun", { source })
      ),
    finishRun: (runId, result) =>
      finishRun(runId, result).pipe(span("finishRun", { runId, outcome: result.outcome, fetched: result.fetched })),
    runs: (limit) => runs(limit).pipe(span("runs", limit === undefined ? {} : { limit }))
  })
})

/** A span named after the store's operation, as core names its AWS calls' spans. */
const span = (operation: string, attributes: Record<string, unknown>) =>
  Effect.withSpan(`SnapshotStore.${operation}`, { attributes })

/** The store over the `Database` layer in context. */
export const layer: Layer.Layer<SnapshotStore, never, Database> = Layer.effect(SnapshotStore, make)
