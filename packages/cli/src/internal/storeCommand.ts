import { Options } from "@effect/cli"
import { Identifiers } from "@pipetrail/core"
import { Effect, Layer, Option } from "effect"
import { type Globals, loggerLayer, storeLayer } from "../Global.js"

// What the commands that read the store share: their layers and the execution key options.

/** The store and the logger: what a read command needs. */
export const storeOnly = (c: Globals) => Layer.merge(storeLayer(c), loggerLayer(c))

/** `--pipeline`, to narrow an execution id. */
export const keyOptions = {
  pipeline: Options.text("pipeline").pipe(Options.withDescription("narrow to this pipeline"), Options.optional)
}

/** The execution key from an id argument and the narrowing options. */
/** `--pipeline`, parsed where it comes in: a valid name, or a usage error naming the value. */
export const pipelineOption = (pipeline: Option.Option<string>) =>
  Effect.transposeMapOption(pipeline, Identifiers.parse(Identifiers.PipelineName, "--pipeline"))

export const keyOf = (id: string, c: { pipeline: Option.Option<string>; source: Option.Option<string> }) =>
  Effect.gen(function* () {
    const pipelineExecutionId = yield* Identifiers.parse(Identifiers.PipelineExecutionId, "execution-id")(id)
    const pipelineName = yield* pipelineOption(c.pipeline)
    return {
      pipelineExecutionId,
      ...Option.match(pipelineName, { onNone: () => ({}), onSome: (pipelineName) => ({ pipelineName }) }),
      ...Option.match(c.source, { onNone: () => ({}), onSome: (source) => ({ source }) })
    }
  })
