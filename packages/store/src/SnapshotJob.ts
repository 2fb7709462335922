// Longer than most files here (~640 lines), on purpose: the snapshot job, one run and a watch,
// with the types they take and give (options, progress, per-pipeline counts, summary, ticks). A
// run's steps (list, fetch, record, fetch and record actions, count, report) share its counters,
// failure list and kept responses; split apart, each would need them passed in.
import {
  CodePipeline,
  type CodePipelineError,
  ExecutionDocument,
  type Identifiers,
  PipelineExecution
} from "@pipetrail/core"
import { Cause, Chunk, Data, Duration, Effect, Exit, Ref, Schedule, Stream } from "effect"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import * as DatabaseError from "./DatabaseError.js"
import * as SnapshotStore from "./SnapshotStore.js"

/** What `rejected_response` keeps of a failed call, or `undefined` when the failure carries no response to keep. */
export const rejectionOf = (
  error: CodePipelineError.CodePipelineError | { readonly _tag: string }
): Omit<SnapshotStore.RejectedInput, "source" | "runId"> | undefined => {
  if (error._tag !== "ResponseDecodeError" && error._tag !== "ResponseMismatchError") return undefined
  const e = error as CodePipelineError.ResponseDecodeError | CodePipelineError.ResponseMismatchError
  return {
    operation: e.operation,
    ...(e.pipelineName === undefined ? {} : { pipelineName: e.pipelineName }),
    ...(e.pipelineExecutionId === undefined ? {} : { pipelineExecutionId: e.pipelineExecutionId }),
    payload: e.payload,
    issue: e.issue,
    ...(e.response === undefined ? {} : { response: e.response })
  }
}

/** What a snapshot job fetches and how. */
export interface JobOptions {
  /** The source label recorded with every snapshot and the run. */
  readonly source: string
  /** Pipeline names (parsed where they came in: `Identifiers.parse`), or every pipeline of the account and region. */
  readonly pipelines: ReadonlyArray<Identifiers.PipelineName> | "all"
  /** Only executions that started at or after this time. */
  readonly since?: Date
  /** At most this many executions per pipeline (the newest). */
  readonly maxExecutions?: number
  /** Detail fetches in flight at once. */
  readonly concurrency: number
  /** Snapshots written per transaction. */
  readonly batchSize: number
  /**
   * Fetch only executions that are new or not terminal in the store (for `watch`): the listing of
   * a pipeline stops at the first execution already stored as terminal once no stored
   * unfinished execution of that pipeline is left to find.
   */
  readonly incremental: boolean
  /**
   * Fetch and record the action executions of each execution whose stored state changed in this
   * run, that has not ended, or whose actions were not yet fetched completely for its state
   * (default true). Settled executions cost no action call.
   */
  readonly actions?: boolean
  /** Called as the run advances (every listed, fetched and stored execution); for a progress display. */
  readonly onProgress?: (progress: JobProgress) => Effect.Effect<void>
  /** Called when a pipeline is done, with that pipeline's own counts. */
  readonly onPipelineDone?: (done: PipelineDone) => Effect.Effect<void>
}

/** How far a run is. */
export interface JobProgress {
  /** Pipelines in the run (0 until they are known) and those done. */
  readonly pipelines: number
  readonly pipelinesDone: number
  /** Pipelines whose listing has ended: when all have, `listed` is the whole run's work. */
  readonly pipelinesListed: number
  /** Executions listed to fetch, fetched, and stored (new or unchanged states). */
  readonly listed: number
  readonly fetched: number
  readonly stored: number
  /** Executions that failed or were rejected. */
  readonly failed: number
}

/** One pipeline's own counts, when it is done. */
export interface PipelineDone {
  readonly pipelineName: Identifiers.PipelineName
  readonly fetched: number
  readonly newSnapshots: number
  readonly unchanged: number
  /** Action execution observations received and action contents new to the store (0 without actions). */
  readonly actionsFetched?: number
  readonly newActionStates?: number
}

/** A pipeline's counts as one line (its info log and its progress line). */
export const describePipelineDone = (done: PipelineDone): string =>
  `${done.pipelineName}: ${done.fetched} fetched, ${done.newSnapshots} new, ${done.unchanged} unchanged${
    (done.actionsFetched ?? 0) > 0
      ? `; ${done.actionsFetched} action states fetched, ${done.newActionStates ?? 0} new`
      : ""
  }`

/** One execution or pipeline that could not be fetched. */
export interface Failure {
  readonly pipelineName: Identifiers.PipelineName
  readonly pipelineExecutionId?: Identifiers.PipelineExecutionId
  /** The tag of the error it failed with: a pipeline's listing or an execution's fetch. */
  readonly error: (
    | CodePipelineError.ListExecutionsError
    | CodePipelineError.GetExecutionError
    | CodePipelineError.ListActionsError
    | ExecutionDocument.MergeMismatchError
  )["_tag"]
  readonly message: string
}

/** What a run did. */
export interface JobSummary extends Required<SnapshotStore.RunCounts> {
  readonly runId: number
  readonly source: string
  readonly pipelines: number
  readonly outcome: SnapshotStore.RunOutcome
  readonly failures: ReadonlyArray<Failure>
}

const emptyCounts: Required<SnapshotStore.RunCounts> = {
  fetched: 0,
  newSnapshots: 0,
  unchanged: 0,
  rejected: 0,
  failed: 0,
  actionsFetched: 0,
  newActionStates: 0
}

/** A run failed when nothing it tried worked: no execution fetched or stored, no execution's actions listed. */
const outcomeOf = (counts: SnapshotStore.RunCounts, actionListings: number): SnapshotStore.RunOutcome =>
  counts.failed === 0 && counts.rejected === 0
    ? "succeeded"
    : counts.newSnapshots + counts.unchanged === 0 && counts.fetched === 0 && actionListings === 0
      ? "failed"
      : "partial"

/**
 * A store call retried when the connection was lost or a transaction lost a race (a failed
 * transaction rolled back completely, and every write of the job is idempotent); on the embedded
 * store this is also how a process served by another takes the store over when that one exits.
 */
const retryTransient = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(effect, {
    while: (error) => error instanceof DatabaseError.DatabaseError && DatabaseError.isTransient(error),
    schedule: Schedule.exponential("200 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(5)))
  })

/** Why a run ended without a summary: the store refused (a run that cannot be recorded stops), or listing the pipelines failed. */
export type RunError =
  | CodePipelineError.ListPipelinesError
  | DatabaseError.DatabaseError
  | SnapshotStore.InvalidObservationError

/**
 * Runs the job once: discovers executions, fetches their details and records them; the run itself
 * (its options, counts and outcome) is kept in the store. An execution or pipeline CodePipeline
 * fails for is counted and listed in the summary, and the run goes on; a malformed response is kept
 * as rejected. The run fails only when the store fails or the pipelines cannot be listed.
 */
export const run = (
  options: JobOptions
): Effect.Effect<JobSummary, RunError, CodePipeline.CodePipeline | SnapshotStore.SnapshotStore> =>
  Effect.gen(function* () {
    const codepipeline = yield* CodePipeline.CodePipeline
    const store = yield* SnapshotStore.SnapshotStore
    const counts = yield* Ref.make(emptyCounts)
    const failures = yield* Ref.make<ReadonlyArray<Failure>>([])
    /** Where the run is beyond its counts: pipelines known, listed and done, executions listed. */
    let position = { pipelines: 0, pipelinesDone: 0, pipelinesListed: 0, listed: 0 }
    const notify: Effect.Effect<void> =
      options.onProgress === undefined
        ? Effect.void
        : Effect.flatMap(Ref.get(counts), (c) =>
            options.onProgress!({
              ...position,
              fetched: c.fetched,
              stored: c.newSnapshots + c.unchanged,
              failed: c.failed + c.rejected
            })
          )
    const add = (delta: Partial<SnapshotStore.RunCounts>) =>
      Ref.update(counts, (c) => ({
        fetched: c.fetched + (delta.fetched ?? 0),
        newSnapshots: c.newSnapshots + (delta.newSnapshots ?? 0),
        unchanged: c.unchanged + (delta.unchanged ?? 0),
        rejected: c.rejected + (delta.rejected ?? 0),
        failed: c.failed + (delta.failed ?? 0),
        actionsFetched: c.actionsFetched + (delta.actionsFetched ?? 0),
        newActionStates: c.newActionStates + (delta.newActionStates ?? 0)
      })).pipe(Effect.zipRight(notify))
    const advance = (delta: Partial<typeof position>) =>
      Effect.suspend(() => {
        position = {
          pipelines: delta.pipelines ?? position.pipelines,
          pipelinesDone: position.pipelinesDone + (delta.pipelinesDone ?? 0),
          pipelinesListed: position.pipelinesListed + (delta.pipelinesListed ?? 0),
          listed: position.listed + (delta.listed ?? 0)
        }
        return notify
      })

    const withActions = options.actions ?? true
    /** Executions whose actions were listed completely in this run. */
    let actionListings = 0
    const runId = yield* store.startRun(options.source, {
      pipelines: options.pipelines,
      since: options.since?.toISOString(),
      maxExecutions: options.maxExecutions,
      incremental: options.incremental,
      actions: withActions
    })

    yield* Effect.logInfo(
      `run ${runId} started: ${options.pipelines === "all" ? "every pipeline" : options.pipelines.join(", ")}${options.incremental ? " (incremental)" : ""}`
    )

    /** Responses whose bytes this run kept already: a page with several malformed items is kept once. */
    const keptResponses = new WeakSet<object>()
    const reject = (rejected: Omit<SnapshotStore.RejectedInput, "source" | "runId">) =>
      Effect.suspend(() => {
        const { response, ...rest } = rejected
        // The first item rejected from a page keeps the page's bytes; the others keep their own item.
        // (By its bytes' identity: each error of a page holds the same bytes, in a struct of its own.)
        const first = response !== undefined && !keptResponses.has(response.body)
        if (first) keptResponses.add(response.body)
        return store.recordRejected({ ...rest, ...(first ? { response } : {}), source: options.source, runId })
      }).pipe(
        Effect.zipRight(add({ rejected: 1 })),
        Effect.zipRight(
          Effect.logWarning(`kept a rejected ${rejected.operation} response: ${rejected.issue.split("\n")[0]}`)
        )
      )

    const fail = (failure: Failure) =>
      Effect.zipRight(
        Ref.update(failures, (list) => [...list, failure]),
        Effect.zipRight(
          add({ failed: 1 }),
          Effect.logError(
            `${failure.pipelineName}${failure.pipelineExecutionId === undefined ? "" : `/${failure.pipelineExecutionId}`}: ${failure.message}`
          )
        )
      )

    /** A response CodePipeline sent that does not decode or is about something else is kept; any other error is a failure. */
    const keepOrFail = (error: { readonly _tag: string }, failure: () => Failure) => {
      const rejected = rejectionOf(error)
      return rejected !== undefined ? reject(rejected) : fail(failure())
    }

    const headsByPipeline = new Map<string, Map<string, SnapshotStore.Head>>()

    /**
     * Fetches and records the action executions of one execution; marks them fetched for the state
     * recorded when every one arrived and none was rejected. A failure is counted and listed, and
     * the run goes on.
     */
    const syncActions = (
      pipelineName: Identifiers.PipelineName,
      execution: { readonly pipelineExecutionId: Identifiers.PipelineExecutionId; readonly contentHash: string },
      mine: { actionsFetched: number; newActionStates: number },
      /** For a stored execution not listed in this run: AWS no longer knowing it means nothing is left to fetch. */
      stored = false
    ) =>
      Effect.gen(function* () {
        let rejected = 0
        const observed = yield* Stream.runCollect(
          codepipeline.observeActionExecutions(pipelineName, {
            pipelineExecutionId: execution.pipelineExecutionId,
            onMalformed: (error) => {
              rejected++
              return reject(rejectionOf(error)!)
            }
          })
        )
        const inputs = Chunk.toReadonlyArray(observed).map(({ value, observedAt }) => ({
          source: options.source,
          pipelineName,
          action: value,
          observedAt,
          runId
        }))
        const results = yield* retryTransient(store.recordActions(inputs))
        const fresh = results.filter((r) => r.outcome === "new").length
        actionListings++
        mine.actionsFetched += inputs.length
        mine.newActionStates += fresh
        yield* add({ actionsFetched: inputs.length, newActionStates: fresh })
        if (rejected === 0) {
          yield* retryTransient(store.markActionsSynced(options.source, { pipelineName, ...execution }))
        }
      }).pipe(
        Effect.catchIf(
          // What the store refuses ends the run; what CodePipeline refuses fails this execution's actions only.
          (error): error is CodePipelineError.ListActionsError =>
            !(error instanceof DatabaseError.DatabaseError || error instanceof SnapshotStore.InvalidObservationError),
          (error) => {
            if (stored && error._tag === "PipelineExecutionNotFoundError") {
              return Effect.zipRight(
                Effect.logInfo(
                  `${pipelineName}/${execution.pipelineExecutionId}: CodePipeline no longer has this execution; its actions stay as stored`
                ),
                retryTransient(store.markActionsSynced(options.source, { pipelineName, ...execution }))
              )
            }
            return keepOrFail(error, () => ({
              pipelineName,
              pipelineExecutionId: execution.pipelineExecutionId,
              error: error._tag,
              message:
                error._tag === "AccessDeniedError" && error.reason === "AccessDenied"
                  ? `actions: ${error.message} (grant codepipeline:ListActionExecutions, or pass --no-actions)`
                  : `actions: ${error.message}`
            }))
          }
        )
      )

    const processPipeline = (pipelineName: Identifiers.PipelineName) => {
      // This pipeline's own counts, for its progress line.
      const mine = { fetched: 0, newSnapshots: 0, unchanged: 0, actionsFetched: 0, newActionStates: 0 }
      /** Executions whose actions this run fetched (or tried to). */
      const synced = new Set<string>()
      const known = headsByPipeline.get(pipelineName) ?? new Map<string, SnapshotStore.Head>()
      const unfinished = new Set(
        [...known.values()].filter((h) => !PipelineExecution.isTerminal(h.status)).map((h) => h.pipelineExecutionId)
      )
      const settled = (summary: { pipelineExecutionId: string; status: string }) => {
        const head = known.get(summary.pipelineExecutionId)
        // One whose actions are not stored yet is settled too: they are fetched after the listing.
        return head !== undefined && head.status === summary.status && PipelineExecution.isTerminal(head.status)
      }
      let listed = codepipeline.listPipelineExecutions(pipelineName, {
        onMalformed: (error) => reject(rejectionOf(error)!)
      })
      if (options.since !== undefined) {
        const since = options.since
        listed = Stream.takeWhile(listed, (s) => s.startTime === undefined || s.startTime >= since)
      }
      if (options.maxExecutions !== undefined) listed = Stream.take(listed, options.maxExecutions)
      if (options.incremental) {
        // Newest first: stop at the first settled execution once every unfinished one was listed.
        listed = listed.pipe(
          Stream.mapAccum(unfinished as ReadonlySet<string>, (waiting, summary) => {
            const left = waiting.has(summary.pipelineExecutionId)
              ? new Set([...waiting].filter((id) => id !== summary.pipelineExecutionId))
              : waiting
            return [left, { summary, done: settled(summary) && left.size === 0 }] as const
          }),
          Stream.takeWhile(({ done }) => !done),
          Stream.map(({ summary }) => summary),
          Stream.filter((s) => !settled(s))
        )
      }
      return listed.pipe(
        Stream.tap(() => advance({ listed: 1 })),
        Stream.concat(Stream.execute(advance({ pipelinesListed: 1 }))),
        Stream.mapEffect(
          (summary) =>
            codepipeline.observePipelineExecution(pipelineName, summary.pipelineExecutionId).pipe(
              Effect.flatMap((detail) =>
                Effect.map(ExecutionDocument.make(detail.value, summary), (document) => ({
                  document,
                  observedAt: detail.observedAt
                }))
              ),
              Effect.tap(() => {
                mine.fetched += 1
                return add({ fetched: 1 })
              }),
              Effect.catchAll((error) => {
                // A response that is malformed or about another execution is kept, never stored as this one.
                return keepOrFail(error, () => ({
                  pipelineName,
                  pipelineExecutionId: summary.pipelineExecutionId,
                  error: error._tag,
                  message: error.message
                })).pipe(Effect.as(undefined))
              })
            ),
          { concurrency: options.concurrency }
        ),
        Stream.filter(
          (observed): observed is { document: ExecutionDocument.ExecutionDocument; observedAt: Date } =>
            observed !== undefined
        ),
        Stream.grouped(options.batchSize),
        Stream.mapEffect((batch) =>
          store
            .recordMany(
              Chunk.toReadonlyArray(batch).map(({ document, observedAt }) => ({
                source: options.source,
                document,
                observedAt,
                runId
              }))
            )
            .pipe(
              // A batch rolled back by a lost connection is retried: writes are idempotent.
              retryTransient,
              Effect.tapError((error) =>
                Effect.logError(`could not store a batch of ${Chunk.size(batch)}: ${error.message}`)
              ),
              Effect.tap((results) => {
                const delta = {
                  newSnapshots: results.filter((r) => r.outcome === "new").length,
                  unchanged: results.filter((r) => r.outcome === "unchanged").length
                }
                mine.newSnapshots += delta.newSnapshots
                mine.unchanged += delta.unchanged
                return add(delta)
              }),
              // A batch that started is written and counted before an interruption takes effect,
              // so the run's counts equal the rows it wrote, however it ends.
              Effect.uninterruptible,
              Effect.map((results) => ({ batch: Chunk.toReadonlyArray(batch), results }))
            )
        ),
        Stream.mapEffect(({ batch, results }) =>
          Effect.gen(function* () {
            if (!withActions) return
            // Actions of executions that changed or have not ended; of the others, those not fetched yet.
            // Each recorded execution with its status: the result says what was stored, under which hash.
            const recorded = results.map((result, i) => ({
              result,
              ended: PipelineExecution.isTerminal(batch[i]!.document.status)
            }))
            const pending = yield* retryTransient(
              store.actionsPending(
                options.source,
                recorded
                  .filter(({ result, ended }) => result.outcome === "unchanged" && ended)
                  .map(({ result }) => result)
              )
            )
            const wanted = recorded
              .filter(
                ({ result, ended }) =>
                  result.outcome === "new" ||
                  !ended ||
                  pending.has(`${result.pipelineName}/${result.pipelineExecutionId}`)
              )
              .map(({ result }) => result)
            yield* Effect.forEach(
              wanted,
              ({ pipelineExecutionId, contentHash }) => {
                synced.add(pipelineExecutionId)
                return syncActions(pipelineName, { pipelineExecutionId, contentHash }, mine)
              },
              { concurrency: options.concurrency, discard: true }
            )
          })
        ),
        Stream.runDrain,
        // A watch lists only down to the first settled execution: a stored execution that ended but
        // whose actions were not fetched completely (a failed listing, a store from before actions)
        // is fetched here, by its stored state, so a failure is retried on the next tick.
        Effect.zipRight(
          Effect.suspend(() => {
            if (!withActions || !options.incremental) return Effect.void
            const left = [...known.values()].filter(
              (h) =>
                !h.actionsSynced &&
                PipelineExecution.isTerminal(h.status) &&
                h.contentHash !== undefined &&
                !synced.has(h.pipelineExecutionId)
            )
            return Effect.forEach(
              left,
              (h) =>
                syncActions(
                  pipelineName,
                  { pipelineExecutionId: h.pipelineExecutionId, contentHash: h.contentHash! },
                  mine,
                  true
                ),
              { concurrency: options.concurrency, discard: true }
            )
          })
        ),
        Effect.catchIf(
          // What the store refuses ends the run; what CodePipeline refuses fails this pipeline only
          // (a listing page that does not decode is kept as rejected).
          (error): error is CodePipelineError.ListExecutionsError =>
            !(error instanceof DatabaseError.DatabaseError || error instanceof SnapshotStore.InvalidObservationError),
          (error) => keepOrFail(error, () => ({ pipelineName, error: error._tag, message: error.message }))
        ),
        Effect.zipRight(
          Effect.suspend(() => {
            const done = { pipelineName, ...mine }
            return Effect.all([
              Effect.logInfo(describePipelineDone(done)).pipe(Effect.annotateLogs({ run: runId })),
              advance({ pipelinesDone: 1 }),
              options.onPipelineDone === undefined ? Effect.void : options.onPipelineDone(done)
            ])
          })
        )
      )
    }

    const finish = (outcome: SnapshotStore.RunOutcome | undefined, error?: string) =>
      Effect.flatMap(Ref.get(counts), (c) =>
        store
          .finishRun(runId, {
            ...c,
            outcome: outcome ?? outcomeOf(c, actionListings),
            ...(error === undefined ? {} : { error })
          })
          .pipe(
            Effect.zipRight(
              Effect.logInfo(
                `run ${runId} ${outcome ?? outcomeOf(c, actionListings)}: ${c.fetched} fetched, ${c.newSnapshots} new, ${c.unchanged} unchanged, ${c.rejected} rejected, ${c.failed} failed; ${c.actionsFetched} action states fetched, ${c.newActionStates} new`
              )
            ),
            Effect.catchAll((e) => Effect.logError(`could not record the end of run ${runId}: ${e.message}`))
          )
      )

    const pipelines = yield* Effect.gen(function* () {
      const names =
        options.pipelines === "all"
          ? Chunk.toReadonlyArray(
              yield* Stream.runCollect(Stream.map(codepipeline.listPipelines(), (p) => p.name)).pipe(
                // A listing that does not decode ends the run, and is kept as rejected first.
                Effect.tapError((error) => {
                  const rejected = rejectionOf(error)
                  return rejected === undefined ? Effect.void : reject(rejected)
                })
              )
            )
          : options.pipelines
      yield* advance({ pipelines: names.length })
      if (options.incremental) {
        for (const head of yield* store.heads(options.source, names)) {
          const byId = headsByPipeline.get(head.pipelineName) ?? new Map<string, SnapshotStore.Head>()
          byId.set(head.pipelineExecutionId, head)
          headsByPipeline.set(head.pipelineName, byId)
        }
      }
      yield* Effect.forEach(names, processPipeline, {
        concurrency: Math.min(4, Math.max(1, names.length)),
        discard: true
      })
      return names
    }).pipe(
      Effect.onExit((exit) => {
        if (Exit.isSuccess(exit)) return finish(undefined)
        // Interrupted only when nothing failed: a failing pipeline interrupts its siblings, and that run failed.
        if (Cause.isInterruptedOnly(exit.cause)) return finish("interrupted")
        const cause = Cause.squash(exit.cause)
        return finish("failed", cause instanceof Error ? cause.message : String(cause))
      })
    )

    const c = yield* Ref.get(counts)
    yield* Effect.annotateCurrentSpan({
      runId,
      outcome: outcomeOf(c, actionListings),
      fetched: c.fetched,
      failed: c.failed
    })
    return {
      ...c,
      runId,
      source: options.source,
      pipelines: pipelines.length,
      outcome: outcomeOf(c, actionListings),
      failures: yield* Ref.get(failures)
    } satisfies JobSummary
  }).pipe(
    Effect.withSpan("SnapshotJob.run", {
      attributes: {
        source: options.source,
        pipelines: options.pipelines === "all" ? "all" : options.pipelines.join(","),
        incremental: options.incremental
      }
    })
  )

/** One tick of a watch: the run's summary, or the error that ended it (the watch goes on). */
export type Tick = Data.TaggedEnum<{
  Completed: { readonly summary: JobSummary }
  Failed: { readonly error: RunError }
}>

/** Builds and matches ticks. */
export const Tick = Data.taggedEnum<Tick>()

/** Whether a tick ran to the end with nothing failed or rejected. */
export const succeeded = (tick: Tick): boolean => tick._tag === "Completed" && tick.summary.outcome === "succeeded"

/**
 * A watch's spacing: `interval` after a tick that succeeded; after ticks in a row that failed or
 * were partial the wait doubles each time, up to an hour (or `interval`, if that is longer).
 */
export const every = (interval: Duration.DurationInput): Schedule.Schedule<Tick, Tick> => {
  const base = Duration.toMillis(Duration.decode(interval))
  const cap = Math.max(base, Duration.toMillis(Duration.hours(1)))
  return Schedule.makeWithState(0, (now, tick: Tick, failedInARow: number) => {
    const failed = succeeded(tick) ? 0 : failedInARow + 1
    const wait = failed === 0 ? base : Math.min(base * 2 ** Math.min(failed, 16), cap)
    return Effect.succeed([failed, tick, ScheduleDecision.continueWith(ScheduleInterval.after(now + wait))] as const)
  })
}

/**
 * The job on a schedule, incrementally: each tick lists each pipeline's newest executions and
 * fetches only those that are new or not terminal in the store, so a tick where nothing changed
 * costs one list call per pipeline. The first tick runs at once; `schedule` (given each tick, e.g.
 * `every("5 minutes")`) decides when the next one runs and when the watch ends. A failed tick is an
 * element of the stream, not its end; end it with `Stream.take` or by interrupting it.
 */
export const watch = <Out, R>(
  options: Omit<JobOptions, "incremental">,
  schedule: Schedule.Schedule<Out, Tick, R>
): Stream.Stream<Tick, never, CodePipeline.CodePipeline | SnapshotStore.SnapshotStore | R> =>
  Stream.repeatEffectWithSchedule(
    run({ ...options, incremental: true }).pipe(
      Effect.match({
        onSuccess: (summary) => Tick.Completed({ summary }),
        onFailure: (error) => Tick.Failed({ error })
      })
    ),
    schedule
  )
