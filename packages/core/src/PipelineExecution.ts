import { Schema } from "effect"
import {
  ArtifactName,
  PipelineExecutionId,
  PipelineName,
  PipelineVersion,
  RevisionId,
  VariableName
} from "./Identifiers.js"
import { optional } from "./internal/schema.js"
import * as OpenEnum from "./OpenEnum.js"
import { Timestamp } from "./Timestamp.js"

/** The status of an execution; unknown values decode to `UnrecognizedPipelineExecutionStatus`. */
export const PipelineExecutionStatus = OpenEnum.make("PipelineExecutionStatus", [
  "Cancelled",
  "InProgress",
  "Stopped",
  "Stopping",
  "Succeeded",
  "Superseded",
  "Failed"
])
/** The status of an execution. */
export type PipelineExecutionStatus = typeof PipelineExecutionStatus.Type

/** What started an execution; unknown values decode to `UnrecognizedTriggerType`. */
export const TriggerType = OpenEnum.make("TriggerType", [
  "CreatePipeline",
  "StartPipelineExecution",
  "PollForSourceChanges",
  "Webhook",
  "CloudWatchEvent",
  "PutActionRevision",
  "WebhookV2",
  "ManualRollback",
  "AutomatedRollback"
])
/** What started an execution. */
export type TriggerType = typeof TriggerType.Type

/** How a pipeline runs concurrent executions; unknown values decode to `UnrecognizedExecutionMode`. */
export const ExecutionMode = OpenEnum.make("ExecutionMode", ["QUEUED", "SUPERSEDED", "PARALLEL"])
/** How a pipeline runs concurrent executions. */
export type ExecutionMode = typeof ExecutionMode.Type

/** Whether an execution is a normal run or a rollback; unknown values decode to `UnrecognizedExecutionType`. */
export const ExecutionType = OpenEnum.make("ExecutionType", ["STANDARD", "ROLLBACK"])
/** Whether an execution is a normal run or a rollback. */
export type ExecutionType = typeof ExecutionType.Type

/** Statuses after which an execution never changes again. */
export const terminalStatuses: ReadonlySet<string> = new Set([
  "Cancelled",
  "Stopped",
  "Succeeded",
  "Superseded",
  "Failed"
])

/** Whether an execution in this status will never change again (unknown statuses are not terminal). */
export const isTerminal = (status: PipelineExecutionStatus): boolean => terminalStatuses.has(status)

/** A source revision an execution ran with. */
export const ArtifactRevision = Schema.Struct({
  name: optional(ArtifactName),
  revisionId: optional(RevisionId),
  revisionChangeIdentifier: optional(Schema.String),
  revisionSummary: optional(Schema.String),
  created: optional(Timestamp),
  revisionUrl: optional(Schema.String)
}).annotations({ identifier: "ArtifactRevision" })
/** The decoded type of `ArtifactRevision`. */
export interface ArtifactRevision extends Schema.Schema.Type<typeof ArtifactRevision> {}

/** A pipeline variable with the value it resolved to in this execution. */
export const ResolvedVariable = Schema.Struct({
  name: optional(VariableName),
  resolvedValue: optional(Schema.String)
}).annotations({ identifier: "ResolvedVariable" })
/** The decoded type of `ResolvedVariable`. */
export interface ResolvedVariable extends Schema.Schema.Type<typeof ResolvedVariable> {}

/** What started an execution, with its detail (an ARN, a user, a webhook…). */
export const ExecutionTrigger = Schema.Struct({
  triggerType: optional(TriggerType),
  triggerDetail: optional(Schema.String)
}).annotations({ identifier: "ExecutionTrigger" })
/** The decoded type of `ExecutionTrigger`. */
export interface ExecutionTrigger extends Schema.Schema.Type<typeof ExecutionTrigger> {}

/** For a rollback execution: the execution it rolled back to. */
export const RollbackMetadata = Schema.Struct({
  rollbackTargetPipelineExecutionId: optional(PipelineExecutionId)
}).annotations({ identifier: "RollbackMetadata" })
/** The decoded type of `RollbackMetadata`. */
export interface RollbackMetadata extends Schema.Schema.Type<typeof RollbackMetadata> {}

/** The fields of `GetPipelineExecution`'s `pipelineExecution`; name, id, version and status are always present. */
export const pipelineExecutionFields = {
  pipelineName: PipelineName,
  pipelineVersion: PipelineVersion,
  pipelineExecutionId: PipelineExecutionId,
  status: PipelineExecutionStatus,
  statusSummary: optional(Schema.String),
  artifactRevisions: optional(Schema.Array(ArtifactRevision)),
  variables: optional(Schema.Array(ResolvedVariable)),
  trigger: optional(ExecutionTrigger),
  executionMode: optional(ExecutionMode),
  executionType: optional(ExecutionType),
  rollbackMetadata: optional(RollbackMetadata)
}

/** One execution as `GetPipelineExecution` describes it. */
export const PipelineExecution = Schema.Struct(pipelineExecutionFields).annotations({ identifier: "PipelineExecution" })
/** The decoded type of `PipelineExecution`. */
export interface PipelineExecution extends Schema.Schema.Type<typeof PipelineExecution> {}
