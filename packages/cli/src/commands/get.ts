import { Args, Command, Options } from "@effect/cli"
import { CodePipeline, ExecutionDocument, Identifiers } from "@pipetrail/core"
import { SnapshotJob, SnapshotStore } from "@pipetrail/store"
import { Chunk, Effect, Layer, Option, Stream } from "effect"
import { awsConfig, globalOptions, loggerLayer, storeLayer } from "../Global.js"
import { documentRows } from "../internal/format.js"
import { resolveSource } from "../internal/source.js"
import * as Output from "../Output.js"

/** `pipetrail get <pipeline> <execution-id>`: fetch, decode, store, print. */
export const get = Command.make(
  "get",
  {
    ...globalOptions,
    pipeline: Args.text({ name: "pipeline" }).pipe(Args.withDescription("pipeline name")),
    executionId: Args.text({ name: "execution-id" }).pipe(Args.withDescription("pipeline execution id")),
    noStore: Options.boolean("no-store").pipe(Options.withDescription("print only; do not record the snapshot"))
  },
  (c) =>
    Effect.gen(function* () {
      const pipelineName = yield* Identifiers.parse(Identifiers.PipelineName, "pipeline")(c.pipeline)
      const executionId = yield* Identifiers.parse(Identifiers.PipelineExecutionId, "execution-id")(c.executionId)
      const codepipeline = yield* CodePipeline.CodePipeline
      const store = yield* Effect.serviceOption(SnapshotStore.SnapshotStore)
      // A malformed response, or one about another execution, is kept in rejected_response, then reported.
      const keep = <E extends { readonly _tag: string }>(error: E) => {
        const rejected = SnapshotJob.rejectionOf(error)
        if (rejected === undefined || Option.isNone(store)) return Effect.fail(error)
        return resolveSource(c).pipe(
          Effect.flatMap((source) => store.value.recordRejected({ ...rejected, source })),
          Effect.flatMap((id) => Effect.logWarning(`kept the rejected response as rejected_response ${id}`)),
          Effect.zipRight(Effect.fail(error))
        )
      }
      const detail = yield* codepipeline.observePipelineExecution(pipelineName, executionId).pipe(Effect.catchAll(keep))
      // Times only exist on list summaries: look for this one among the newest 500.
      const summary = yield* codepipeline.listPipelineExecutions(pipelineName).pipe(
        Stream.take(500),
        Stream.filter((s) => s.pipelineExecutionId === executionId),
        Stream.take(1),
        Stream.runCollect,
        Effect.map(Chunk.head),
        Effect.catchAll(keep)
      )
      const document = yield* ExecutionDocument.make(detail.value, Option.getOrUndefined(summary))
      if (Option.isSome(store)) {
        const source = yield* resolveSource(c)
        const result = yield* store.value.record({ source, document, observedAt: detail.observedAt })
        yield* Effect.logInfo(
          `${result.outcome === "new" ? "stored a new state" : "state unchanged"} (snapshot ${result.snapshotId})`
        )
      }
      if (c.output === "json") return yield* Output.printJson(ExecutionDocument.encode(document))
      return yield* Output.print(c.output, documentRows(document))
    })
).pipe(
  Command.withDescription(
    "Fetch one execution, store its state (unless --no-store) and print it.\n\nExample: pipetrail get payments-api 3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4 --output json"
  ),
  Command.provide((c) =>
    Layer.mergeAll(CodePipeline.layer(awsConfig(c)), c.noStore ? Layer.empty : storeLayer(c), loggerLayer(c))
  )
)
