import { Schema } from "effect"
import { ActionName, PipelineExecutionId, RevisionId } from "./Identifiers.js"
import { optional } from "./internal/schema.js"
import {
  ExecutionMode,
  ExecutionTrigger,
  ExecutionType,
  PipelineExecutionStatus,
  RollbackMetadata
} from "./PipelineExecution.js"
import { Timestamp } from "./Timestamp.js"

/** The revision a source action fetched for an execution. */
export const SourceRevision = Schema.Struct({
  actionName: ActionName,
  revisionId: optional(RevisionId),
  revisionSummary: optional(Schema.String),
  revisionUrl: optional(Schema.String)
}).annotations({ identifier: "SourceRevision" })
/** The decoded type of `SourceRevision`. */
export interface SourceRevision extends Schema.Schema.Type<typeof SourceRevision> {}

/** Why an execution was stopped. */
export const StopTrigger = Schema.Struct({
  reason: optional(Schema.String)
}).annotations({ identifier: "StopTrigger" })
/** The decoded type of `StopTrigger`. */
export interface StopTrigger extends Schema.Schema.Type<typeof StopTrigger> {}

/** One entry of `ListPipelineExecutions`: the only place start and last-update times appear. */
export const PipelineExecutionSummary = Schema.Struct({
  pipelineExecutionId: PipelineExecutionId,
  status: PipelineExecutionStatus,
  statusSummary: optional(Schema.String),
  startTime: optional(Timestamp),
  lastUpdateTime: optional(Timestamp),
  sourceRevisions: optional(Schema.Array(SourceRevision)),
  trigger: optional(ExecutionTrigger),
  stopTrigger: optional(StopTrigger),
  executionMode: optional(ExecutionMode),
  executionType: optional(ExecutionType),
  rollbackMetadata: optional(RollbackMetadata)
}).annotations({ identifier: "PipelineExecutionSummary" })
/** The decoded type of `PipelineExecutionSummary`. */
export interface PipelineExecutionSummary extends Schema.Schema.Type<typeof PipelineExecutionSummary> {}
