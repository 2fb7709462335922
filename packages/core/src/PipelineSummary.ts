import { Schema } from "effect"
import { PipelineName, PipelineVersion } from "./Identifiers.js"
import { optional } from "./internal/schema.js"
import * as OpenEnum from "./OpenEnum.js"
import { ExecutionMode } from "./PipelineExecution.js"
import { Timestamp } from "./Timestamp.js"

/** The pipeline type; unknown values decode to `UnrecognizedPipelineType`. */
export const PipelineType = OpenEnum.make("PipelineType", ["V1", "V2"])
/** The pipeline type. */
export type PipelineType = typeof PipelineType.Type

/** One entry of `ListPipelines`. */
export const PipelineSummary = Schema.Struct({
  name: PipelineName,
  version: optional(PipelineVersion),
  pipelineType: optional(PipelineType),
  executionMode: optional(ExecutionMode),
  created: optional(Timestamp),
  updated: optional(Timestamp)
}).annotations({ identifier: "PipelineSummary" })
/** The decoded type of `PipelineSummary`. */
export interface PipelineSummary extends Schema.Schema.Type<typeof PipelineSummary> {}
