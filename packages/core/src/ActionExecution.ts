import { type Either, type ParseResult, Schema } from "effect"
import * as Canonical from "./Canonical.js"
import {
  ActionExecutionId,
  ActionName,
  ActionNamespace,
  ActionProvider,
  ActionTypeVersion,
  ArtifactName,
  PipelineExecutionId,
  PipelineVersion,
  StageName
} from "./Identifiers.js"
import { optional } from "./internal/schema.js"
import * as OpenEnum from "./OpenEnum.js"
import { Timestamp } from "./Timestamp.js"

/** The status of an action execution; unknown values decode to `UnrecognizedActionExecutionStatus`. */
export const ActionExecutionStatus = OpenEnum.make("ActionExecutionStatus", [
  "InProgress",
  "Abandoned",
  "Succeeded",
  "Failed"
])
/** The status of an action execution. */
export type ActionExecutionStatus = typeof ActionExecutionStatus.Type

/** Statuses after which an action execution never changes again. */
export const terminalStatuses: ReadonlySet<string> = new Set(["Abandoned", "Succeeded", "Failed"])

/** Whether an action execution in this status will never change again (unknown statuses are not terminal). */
export const isTerminal = (status: ActionExecutionStatus): boolean => terminalStatuses.has(status)

/** What kind of action: source, build, a manual approval…; unknown values decode to `UnrecognizedActionCategory`. */
export const ActionCategory = OpenEnum.make("ActionCategory", [
  "Source",
  "Build",
  "Deploy",
  "Test",
  "Invoke",
  "Approval",
  "Compute"
])
/** What kind of action. */
export type ActionCategory = typeof ActionCategory.Type

/** Who provides an action type; unknown values decode to `UnrecognizedActionOwner`. */
export const ActionOwner = OpenEnum.make("ActionOwner", ["AWS", "ThirdParty", "Custom"])
/** Who provides an action type. */
export type ActionOwner = typeof ActionOwner.Type

/** The action's type: category, owner, provider (`CodeBuild`, `Manual`…) and version. */
export const ActionTypeId = Schema.Struct({
  category: ActionCategory,
  owner: ActionOwner,
  provider: ActionProvider,
  version: ActionTypeVersion
}).annotations({ identifier: "ActionTypeId" })
/** The decoded type of `ActionTypeId`. */
export interface ActionTypeId extends Schema.Schema.Type<typeof ActionTypeId> {}

/** Where an artifact lives in S3. */
export const S3Location = Schema.Struct({
  bucket: optional(Schema.String),
  key: optional(Schema.String)
}).annotations({ identifier: "S3Location" })
/** The decoded type of `S3Location`. */
export interface S3Location extends Schema.Schema.Type<typeof S3Location> {}

/** An input or output artifact of an action execution. */
export const ArtifactDetail = Schema.Struct({
  name: optional(ArtifactName),
  s3location: optional(S3Location)
}).annotations({ identifier: "ArtifactDetail" })
/** The decoded type of `ArtifactDetail`. */
export interface ArtifactDetail extends Schema.Schema.Type<typeof ArtifactDetail> {}

/** A string-to-string map (action configuration, output variables). */
const StringMap = Schema.Record({ key: Schema.String, value: Schema.String })

/** What an action execution ran with. */
export const ActionExecutionInput = Schema.Struct({
  actionTypeId: optional(ActionTypeId),
  configuration: optional(StringMap),
  resolvedConfiguration: optional(StringMap),
  roleArn: optional(Schema.String),
  region: optional(Schema.String),
  inputArtifacts: optional(Schema.Array(ArtifactDetail)),
  namespace: optional(ActionNamespace)
}).annotations({ identifier: "ActionExecutionInput" })
/** The decoded type of `ActionExecutionInput`. */
export interface ActionExecutionInput extends Schema.Schema.Type<typeof ActionExecutionInput> {}

/** Why an action failed. */
export const ErrorDetails = Schema.Struct({
  code: optional(Schema.String),
  message: optional(Schema.String)
}).annotations({ identifier: "ErrorDetails" })
/** The decoded type of `ErrorDetails`. */
export interface ErrorDetails extends Schema.Schema.Type<typeof ErrorDetails> {}

/**
 * What the action's provider reported: its own execution id, a summary (for a manual approval, the
 * approver's comment), a URL, the error, the log stream.
 */
export const ActionExecutionResult = Schema.Struct({
  externalExecutionId: optional(Schema.String),
  externalExecutionSummary: optional(Schema.String),
  externalExecutionUrl: optional(Schema.String),
  errorDetails: optional(ErrorDetails),
  logStreamARN: optional(Schema.String)
}).annotations({ identifier: "ActionExecutionResult" })
/** The decoded type of `ActionExecutionResult`. */
export interface ActionExecutionResult extends Schema.Schema.Type<typeof ActionExecutionResult> {}

/** What an action execution produced. */
export const ActionExecutionOutput = Schema.Struct({
  outputArtifacts: optional(Schema.Array(ArtifactDetail)),
  executionResult: optional(ActionExecutionResult),
  outputVariables: optional(StringMap)
}).annotations({ identifier: "ActionExecutionOutput" })
/** The decoded type of `ActionExecutionOutput`. */
export interface ActionExecutionOutput extends Schema.Schema.Type<typeof ActionExecutionOutput> {}

/**
 * One action execution as `ListActionExecutions` describes it (`ActionExecutionDetail`). Its
 * identity (execution id, action execution id, stage, action) and status are always present: an
 * action without them names nothing, and is refused as malformed. Everything else is optional;
 * fields AWS adds later are kept.
 */
export const ActionExecution = Schema.Struct({
  pipelineExecutionId: PipelineExecutionId,
  actionExecutionId: ActionExecutionId,
  pipelineVersion: optional(PipelineVersion),
  stageName: StageName,
  actionName: ActionName,
  startTime: optional(Timestamp),
  lastUpdateTime: optional(Timestamp),
  /** Who or what last updated it: for a manual approval, the approver's ARN. */
  updatedBy: optional(Schema.String),
  status: ActionExecutionStatus,
  input: optional(ActionExecutionInput),
  output: optional(ActionExecutionOutput)
}).annotations({ identifier: "ActionExecution" })
/** The decoded type of `ActionExecution`. */
export interface ActionExecution extends Schema.Schema.Type<typeof ActionExecution> {}
/** The JSON form of `ActionExecution` (timestamps as ISO 8601 strings). */
export type Encoded = Schema.Schema.Encoded<typeof ActionExecution>

/**
 * Decodes a stored or received action execution (its JSON form or the wire's), keeping fields this
 * schema does not know; fails with a `ParseError` listing every issue.
 */
export const decode: (input: unknown) => Either.Either<ActionExecution, ParseResult.ParseError> =
  Schema.decodeUnknownEither(ActionExecution, { errors: "all", onExcessProperty: "preserve" })

/** Encodes an action execution to its JSON form (ISO timestamps), keeping fields this schema does not know. */
export const encode: (action: ActionExecution) => Encoded = Schema.encodeSync(ActionExecution, {
  onExcessProperty: "preserve"
})

/** The canonical JSON of an action execution: equal contents give equal bytes. */
export const canonicalJson = (action: ActionExecution): string => Canonical.stringify(action)

/** The SHA-256 (hex) of the canonical JSON: equal contents give equal hashes. */
export const contentHash = (action: ActionExecution): string => Canonical.sha256(canonicalJson(action))

/** The action's category, when its type is known. */
export const categoryOf = (action: ActionExecution): ActionCategory | undefined => action.input?.actionTypeId?.category

/** Whether the action is a manual approval (category `Approval`). */
export const isApproval = (action: ActionExecution): boolean => categoryOf(action) === "Approval"
