import { Chunk, Clock, Context, Effect, Layer, Schedule, Stream } from "effect"
import type { ActionExecution } from "./ActionExecution.js"
import {
  CodePipeline,
  type CodePipelineService,
  type ListActionsOptions,
  type ListExecutionsOptions,
  untilTerminal
} from "./CodePipeline.js"
import { PipelineExecutionNotFoundError, PipelineNotFoundError } from "./CodePipelineError.js"
import type { PipelineExecutionId, PipelineName } from "./Identifiers.js"
import { validatePageSize } from "./internal/pageSize.js"
import type { PipelineExecution } from "./PipelineExecution.js"
import type { PipelineExecutionSummary } from "./PipelineExecutionSummary.js"
import type { PipelineSummary } from "./PipelineSummary.js"

/**
 * What the in-memory service serves: pipelines, each execution with an optional list summary, and
 * action executions.
 */
export interface TestData {
  readonly pipelines: ReadonlyArray<PipelineSummary>
  readonly executions: ReadonlyArray<{
    readonly execution: PipelineExecution
    readonly summary?: PipelineExecutionSummary
  }>
  /** Action executions, each with the pipeline it belongs to (an action execution does not name it). */
  readonly actions?: ReadonlyArray<{ readonly pipelineName: PipelineName; readonly action: ActionExecution }>
}

/** The list entry of an execution; an `ExecutionDocument` given as the execution lends its times. */
const summaryOf = (execution: PipelineExecution): PipelineExecutionSummary => ({
  pipelineExecutionId: execution.pipelineExecutionId,
  ...timeOf(execution, "startTime"),
  ...timeOf(execution, "lastUpdateTime"),
  status: execution.status,
  ...(execution.trigger === undefined ? {} : { trigger: execution.trigger }),
  ...(execution.executionMode === undefined ? {} : { executionMode: execution.executionMode }),
  ...(execution.executionType === undefined ? {} : { executionType: execution.executionType }),
  ...(execution.rollbackMetadata === undefined ? {} : { rollbackMetadata: execution.rollbackMetadata })
})

const timeOf = (execution: PipelineExecution, field: "startTime" | "lastUpdateTime") => {
  const value: unknown = Reflect.get(execution, field)
  return value instanceof Date ? { [field]: value } : {}
}

/**
 * Changes what a test service serves, as CodePipeline's own state changes: a new execution, the
 * next state of one already served, a new pipeline. What a call returns after a change shows it.
 */
export interface Control {
  /** Serves `execution` (with `summary` as its list entry, or one derived from it): new, or replacing the state served. */
  readonly put: (execution: PipelineExecution, summary?: PipelineExecutionSummary) => Effect.Effect<void>
  /** Serves `action` (an action execution of `pipelineName`): new, or replacing the state served. */
  readonly putAction: (pipelineName: PipelineName, action: ActionExecution) => Effect.Effect<void>
  /** Serves `pipeline` as well. */
  readonly addPipeline: (pipeline: PipelineSummary) => Effect.Effect<void>
}

/** The control of the test service in context (`layer` provides both). */
export class CodePipelineTestControl extends Context.Tag("@pipetrail/core/CodePipelineTestControl")<
  CodePipelineTestControl,
  Control
>() {}

/**
 * An in-memory `CodePipeline` for users' own tests, and its `Control`: same validation and
 * not-found errors as the real one, no network. Lists come newest first (by start time, then the
 * latest put first), as the service documents; observations are dated by Effect's `Clock`, so a
 * `TestClock` moves them. `awaitExecution` polls until the served state is terminal.
 */
export const makeWithControl = (
  data: TestData
): { readonly service: CodePipelineService; readonly control: Control } => {
  const known = new Set(data.pipelines.map((p) => p.name as string))
  const pipelines = [...data.pipelines]
  /** By pipeline and id: the state served and when it was put (for ties in the order). */
  const served = new Map<string, { execution: PipelineExecution; summary?: PipelineExecutionSummary; put: number }>()
  let puts = 0
  const keyOf = (pipelineName: string, id: string) => `${pipelineName}\u0000${id}`
  const put = (execution: PipelineExecution, summary?: PipelineExecutionSummary) => {
    const key = keyOf(execution.pipelineName, execution.pipelineExecutionId)
    served.set(key, { execution, ...(summary === undefined ? {} : { summary }), put: served.get(key)?.put ?? puts++ })
  }
  for (const { execution, summary } of data.executions) put(execution, summary)
  /** Action executions by pipeline and action execution id, with when each was first put. */
  const actions = new Map<string, { pipelineName: string; action: ActionExecution; put: number }>()
  const putAction = (pipelineName: string, action: ActionExecution) => {
    const key = keyOf(pipelineName, action.actionExecutionId)
    actions.set(key, { pipelineName, action, put: actions.get(key)?.put ?? puts++ })
  }
  for (const { pipelineName, action } of data.actions ?? []) putAction(pipelineName, action)
  const findPipeline = (name: PipelineName) =>
    known.has(name)
      ? Effect.succeed(name)
      : Effect.fail(new PipelineNotFoundError({ pipelineName: name, message: `pipeline ${name} not found` }))
  const getPipelineExecution = (pipelineName: PipelineName, id: PipelineExecutionId) =>
    Effect.gen(function* () {
      const name = yield* findPipeline(pipelineName)
      const found = served.get(keyOf(name, id))
      if (found === undefined) {
        return yield* new PipelineExecutionNotFoundError({
          pipelineName: name,
          pipelineExecutionId: id,
          message: `execution ${id} not found in pipeline ${name}`
        })
      }
      return found.execution
    })
  const observePipelineExecution = (pipelineName: PipelineName, pipelineExecutionId: PipelineExecutionId) =>
    Effect.zipWith(getPipelineExecution(pipelineName, pipelineExecutionId), Clock.currentTimeMillis, (value, now) => ({
      value,
      observedAt: new Date(now)
    }))
  const listPipelineExecutions = <E = never>(pipelineName: PipelineName, options: ListExecutionsOptions<E> = {}) =>
    Stream.unwrap(
      Effect.gen(function* () {
        const name = yield* findPipeline(pipelineName)
        yield* validatePageSize(options.pageSize, 100)
        const startOf = (e: { execution: PipelineExecution; summary?: PipelineExecutionSummary }) =>
          (e.summary ?? summaryOf(e.execution)).startTime?.getTime() ?? Number.NEGATIVE_INFINITY
        return Stream.fromChunk(
          Chunk.fromIterable(
            [...served.values()]
              .filter((e) => e.execution.pipelineName === name)
              .sort((a, b) => startOf(b) - startOf(a) || b.put - a.put)
              .map((e) => e.summary ?? summaryOf(e.execution))
          )
        )
      })
    )
  const observeActionExecutions = <E = never>(pipelineName: PipelineName, options: ListActionsOptions<E> = {}) =>
    Stream.unwrap(
      Effect.gen(function* () {
        const name = yield* findPipeline(pipelineName)
        yield* validatePageSize(options.pageSize, 100)
        const id = options.pipelineExecutionId
        const mine = [...actions.values()].filter((a) => a.pipelineName === name)
        if (
          id !== undefined &&
          !served.has(keyOf(name, id)) &&
          !mine.some((a) => a.action.pipelineExecutionId === id)
        ) {
          return yield* new PipelineExecutionNotFoundError({
            pipelineName: name,
            pipelineExecutionId: id,
            message: `execution ${id} not found in pipeline ${name}`
          })
        }
        const observedAt = new Date(yield* Clock.currentTimeMillis)
        const startOf = (a: { action: ActionExecution }) => a.action.startTime?.getTime() ?? Number.NEGATIVE_INFINITY
        return Stream.fromChunk(
          Chunk.fromIterable(
            mine
              .filter((a) => id === undefined || a.action.pipelineExecutionId === id)
              .sort((a, b) => startOf(b) - startOf(a) || b.put - a.put)
              .map((a) => ({ value: a.action, observedAt }))
          )
        )
      })
    )
  const listActionExecutions = <E = never>(pipelineName: PipelineName, options: ListActionsOptions<E> = {}) =>
    Stream.map(observeActionExecutions(pipelineName, options), (observed) => observed.value)
  const listPipelines = () => Stream.suspend(() => Stream.fromIterable([...pipelines]))
  const awaitExecution = (pipelineName: PipelineName, pipelineExecutionId: PipelineExecutionId) =>
    getPipelineExecution(pipelineName, pipelineExecutionId).pipe(
      Effect.repeat(untilTerminal(Schedule.spaced("10 millis")))
    )
  return {
    service: {
      getPipelineExecution,
      observePipelineExecution,
      listPipelineExecutions,
      listActionExecutions,
      observeActionExecutions,
      listPipelines,
      awaitExecution
    },
    control: {
      put: (execution, summary) => Effect.sync(() => put(execution, summary)),
      putAction: (pipelineName, action) => Effect.sync(() => putAction(pipelineName, action)),
      addPipeline: (pipeline) =>
        Effect.sync(() => {
          if (!known.has(pipeline.name)) pipelines.push(pipeline)
          known.add(pipeline.name)
        })
    }
  }
}

/** The in-memory service alone (see `makeWithControl`). */
export const make = (data: TestData): CodePipelineService => makeWithControl(data).service

/** A layer serving `data` from memory, with the `Control` that changes it. */
export const layer = (data: TestData): Layer.Layer<CodePipeline | CodePipelineTestControl> =>
  Layer.unwrapEffect(
    Effect.sync(() => {
      const { service, control } = makeWithControl(data)
      return Layer.merge(Layer.succeed(CodePipeline, service), Layer.succeed(CodePipelineTestControl, control))
    })
  )

/** An empty in-memory service: every pipeline is unknown until added. */
export const layerEmpty: Layer.Layer<CodePipeline | CodePipelineTestControl> = layer({ pipelines: [], executions: [] })
