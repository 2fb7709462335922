import { CodePipeline, ExecutionDocument, Identifiers } from "@pipetrail/core"
import { Effect, Stream } from "effect"

// The five newest executions of a pipeline, each merged with its list summary (start and
// last-update times only exist there). Fails with a typed CodePipelineError (or a MergeMismatchError
// if a summary and a detail disagree on the execution), never `unknown`. The name is parsed once,
// where it comes in (`main`): the service takes a branded `PipelineName`.
export const newestExecutions = (pipelineName: Identifiers.PipelineName) =>
  Effect.gen(function* () {
    const codepipeline = yield* CodePipeline.CodePipeline
    return yield* codepipeline.listPipelineExecutions(pipelineName).pipe(
      Stream.take(5),
      Stream.mapEffect(
        (summary) =>
          codepipeline
            .getPipelineExecution(pipelineName, summary.pipelineExecutionId)
            .pipe(Effect.flatMap((detail) => ExecutionDocument.make(detail, summary))),
        { concurrency: 4 }
      ),
      Stream.runCollect
    )
  })

// Against AWS: the default credential chain and region, or point `endpoint` at the emulator.
const parseName = Identifiers.parse(Identifiers.PipelineName, "pipelineName")

export const main = (pipelineName: string, config: CodePipeline.CodePipelineConfig = {}) =>
  Effect.flatMap(parseName(pipelineName), newestExecutions).pipe(
    Effect.tap((executions) =>
      Effect.forEach(executions, (e) =>
        Effect.log(`${e.pipelineExecutionId} ${e.status} ${e.startTime?.toISOString()}`)
      )
    ),
    Effect.provide(CodePipeline.layer(config))
  )
