import { Chunk, Clock, Effect, Layer, Schedule, Stream } from "effect"
import { CodePipeline, type CodePipelineService, type ListExecutionsOptions, untilTerminal } from "./CodePipeline.js"
import { PipelineExecutionNotFoundError, PipelineNotFoundError } from "./CodePipelineError.js"
import { PipelineExecutionId, PipelineName, parse } from "./Identifiers.js"
import { validatePageSize } from "./internal/pageSize.js"
import type { PipelineExecution } from "./PipelineExecution.js"
import type { PipelineExecutionSummary } from "./PipelineExecutionSummary.js"
import type { PipelineSummary } from "./PipelineSummary.js"

/** What the in-memory service serves: pipelines, and each execution with an optional list summary. */
export interface TestData {
  readonly pipelines: ReadonlyArray<PipelineSummary>
  readonly executions: ReadonlyArray<{
    readonly execution: PipelineExecution
    readonly summary?: PipelineExecutionSummary
  }>
}

const summaryOf = (execution: PipelineExecution): PipelineExecutionSummary => ({
  pipelineExecutionId: execution.pipelineExecutionId,
  status: execution.status,
  ...(execution.trigger === undefined ? {} : { trigger: execution.trigger }),
  ...(execution.executionMode === undefined ? {} : { executionMode: execution.executionMode }),
  ...(execution.executionType === undefined ? {} : { executionType: execution.executionType }),
  ...(execution.rollbackMetadata === undefined ? {} : { rollbackMetadata: execution.rollbackMetadata })
})

/**
 * An in-memory `CodePipeline` for users' own tests: same validation and not-found errors as
 * the real one, no network. `awaitExecution` returns the stored state once it is terminal.
 */
export const make = (data: TestData): CodePipelineService => {
  const known = new Set(data.pipelines.map((p) => p.name as string))
  const findPipeline = (pipelineName: string) =>
    Effect.flatMap(parse(PipelineName, "pipelineName")(pipelineName), (name) =>
      known.has(name)
        ? Effect.succeed(name)
        : Effect.fail(new PipelineNotFoundError({ pipelineName: name, message: `pipeline ${name} not found` }))
    )
  const getPipelineExecution = (pipelineName: string, pipelineExecutionId: string) =>
    Effect.gen(function* () {
      const name = yield* findPipeline(pipelineName)
      const id = yield* parse(PipelineExecutionId, "pipelineExecutionId")(pipelineExecutionId)
      const found = data.executions.find(
        (e) => e.execution.pipelineName === name && e.execution.pipelineExecutionId === id
      )
      if (found === undefined) {
        return yield* new PipelineExecutionNotFoundError({
          pipelineName: name,
          pipelineExecutionId: id,
          message: `execution ${id} not found in pipeline ${name}`
        })
      }
      return found.execution
    })
  const observePipelineExecution = (pipelineName: string, pipelineExecutionId: string) =>
    Effect.zipWith(getPipelineExecution(pipelineName, pipelineExecutionId), Clock.currentTimeMillis, (value, now) => ({
      value,
      observedAt: new Date(now)
    }))
  const listPipelineExecutions = <E = never>(pipelineName: string, options: ListExecutionsOptions<E> = {}) =>
    Stream.unwrap(
      Effect.gen(function* () {
        const name = yield* findPipeline(pipelineName)
        yield* validatePageSize(options.pageSize, 100)
        return Stream.fromChunk(
          Chunk.fromIterable(
            data.executions
              .filter((e) => e.execution.pipelineName === name)
              .map((e) => e.summary ?? summaryOf(e.execution))
          )
        )
      })
    )
  const listPipelines = () => Stream.fromIterable(data.pipelines)
  const awaitExecution = (pipelineName: string, pipelineExecutionId: string) =>
    getPipelineExecution(pipelineName, pipelineExecutionId).pipe(
      Effect.repeat(untilTerminal(Schedule.spaced("10 millis")))
    )
  return { getPipelineExecution, observePipelineExecution, listPipelineExecutions, listPipelines, awaitExecution }
}

/** A layer serving `data` from memory. */
export const layer = (data: TestData): Layer.Layer<CodePipeline> => Layer.succeed(CodePipeline, make(data))

/** An empty in-memory service: every pipeline is unknown. */
export const layerEmpty: Layer.Layer<CodePipeline> = layer({ pipelines: [], executions: [] })
