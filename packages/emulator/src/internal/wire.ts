import { Identifiers } from "@pipetrail/core"
import type { EmulatedExecution, EmulatedPipeline, PlannedAction } from "../Scenario.js"
import { stateAt, terminalStatuses } from "../Scenario.js"

/** An AWS-shaped error: HTTP status, `__type` and message. */
export class AwsError {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly message: string
  ) {}
}

const seconds = (ms: number): number => ms / 1000

/** `GetPipelineExecution`'s `pipelineExecution` at time `now`, with epoch-seconds timestamps. */
export const executionDetail = (execution: EmulatedExecution, now: number): Record<string, unknown> => {
  const { step } = stateAt(execution, now)
  const done = terminalStatuses.has(step.status)
  return {
    pipelineName: execution.pipelineName,
    pipelineVersion: execution.pipelineVersion,
    pipelineExecutionId: execution.pipelineExecutionId,
    status: step.status,
    ...(step.statusSummary === undefined ? {} : { statusSummary: step.statusSummary }),
    artifactRevisions: execution.artifactRevisions.map((r) => ({
      name: r.name,
      revisionId: r.revisionId,
      ...(r.revisionChangeIdentifier === undefined ? {} : { revisionChangeIdentifier: r.revisionChangeIdentifier }),
      revisionSummary: r.revisionSummary,
      created: seconds(r.created),
      revisionUrl: r.revisionUrl
    })),
    variables: done ? execution.variables : [],
    trigger: execution.trigger,
    executionMode: execution.executionMode,
    executionType: execution.executionType,
    ...(execution.rollbackTargetPipelineExecutionId === undefined
      ? {}
      : { rollbackMetadata: { rollbackTargetPipelineExecutionId: execution.rollbackTargetPipelineExecutionId } })
  }
}

/** One `ListPipelineExecutions` summary at time `now`. */
export const executionSummary = (execution: EmulatedExecution, now: number): Record<string, unknown> => {
  const { step, since } = stateAt(execution, now)
  const stopping = step.status === "Stopping" || step.status === "Stopped"
  return {
    pipelineExecutionId: execution.pipelineExecutionId,
    status: step.status,
    ...(step.statusSummary === undefined ? {} : { statusSummary: step.statusSummary }),
    startTime: seconds(execution.startTime),
    lastUpdateTime: seconds(since),
    sourceRevisions: execution.artifactRevisions.map((r) => ({
      actionName: r.actionName,
      revisionId: r.revisionId,
      revisionSummary: r.revisionSummary,
      revisionUrl: r.revisionUrl
    })),
    trigger: execution.trigger,
    ...(stopping && execution.stopReason !== undefined ? { stopTrigger: { reason: execution.stopReason } } : {}),
    executionMode: execution.executionMode,
    executionType: execution.executionType,
    ...(execution.rollbackTargetPipelineExecutionId === undefined
      ? {}
      : { rollbackMetadata: { rollbackTargetPipelineExecutionId: execution.rollbackTargetPipelineExecutionId } })
  }
}

const actionTypes: Record<string, { owner: string; version: string; configuration: Record<string, string> }> = {
  CodeStarSourceConnection: {
    owner: "AWS",
    version: "1",
    configuration: { BranchName: "main", DetectChanges: "true", OutputArtifactFormat: "CODE_ZIP" }
  },
  CodeBuild: { owner: "AWS", version: "1", configuration: { ProjectName: "build" } },
  Manual: {
    owner: "AWS",
    version: "1",
    configuration: { CustomData: "Approve the production deployment" }
  },
  CodeDeploy: {
    owner: "AWS",
    version: "1",
    configuration: { ApplicationName: "app", DeploymentGroupName: "production" }
  }
}

/** One `ListActionExecutions` detail of `action` at time `now` (it has started), with epoch-seconds timestamps. */
export const actionDetail = (
  execution: EmulatedExecution,
  action: PlannedAction,
  now: number
): Record<string, unknown> => {
  const done = now >= action.end
  const type = actionTypes[action.provider]!
  const bucket = "codepipeline-us-east-1-artifacts"
  const prefix = execution.pipelineName.slice(0, 20)
  const artifact = (name: string) => ({
    name,
    s3location: { bucket, key: `${prefix}/${name.slice(0, 10)}/${action.externalExecutionId.slice(-7)}` }
  })
  const inputArtifacts =
    action.category === "Source" ? [] : [artifact(action.category === "Deploy" ? "BuildArtifact" : "SourceArtifact")]
  const outputArtifacts =
    !done || action.status !== "Succeeded"
      ? []
      : action.category === "Source"
        ? [artifact("SourceArtifact")]
        : action.category === "Build"
          ? [artifact("BuildArtifact")]
          : []
  const url =
    action.category === "Approval"
      ? `https://console.aws.amazon.com/codesuite/codepipeline/pipelines/${execution.pipelineName}/executions/${execution.pipelineExecutionId}/timeline`
      : action.category === "Build"
        ? `https://console.aws.amazon.com/codesuite/codebuild/projects/build/build/${encodeURIComponent(action.externalExecutionId)}`
        : action.category === "Deploy"
          ? `https://console.aws.amazon.com/codesuite/codedeploy/deployments/${action.externalExecutionId}`
          : `https://github.com/acme/${execution.pipelineName}/commit/${execution.artifactRevisions[0]?.revisionId ?? ""}`
  const summary =
    action.approval !== undefined
      ? action.approval.comment
      : action.category === "Source"
        ? execution.artifactRevisions[0]?.revisionSummary
        : undefined
  const result = {
    externalExecutionId: action.externalExecutionId,
    ...(done && summary !== undefined ? { externalExecutionSummary: summary } : {}),
    externalExecutionUrl: url,
    ...(done && action.error !== undefined ? { errorDetails: action.error } : {}),
    ...(action.category === "Build"
      ? {
          logStreamARN: `arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/build:log-stream:${action.externalExecutionId.split(":")[1]}`
        }
      : {})
  }
  return {
    pipelineExecutionId: execution.pipelineExecutionId,
    actionExecutionId: action.actionExecutionId,
    pipelineVersion: execution.pipelineVersion,
    stageName: action.stageName,
    actionName: action.actionName,
    startTime: seconds(action.start),
    lastUpdateTime: seconds(done ? action.end : action.start),
    ...(done && action.approval !== undefined ? { updatedBy: action.approval.updatedBy } : {}),
    status: done ? action.status : "InProgress",
    input: {
      actionTypeId: { category: action.category, owner: type.owner, provider: action.provider, version: type.version },
      configuration: type.configuration,
      resolvedConfiguration: type.configuration,
      ...(action.category === "Approval" ? {} : { roleArn: "arn:aws:iam::123456789012:role/pipeline-action" }),
      region: "us-east-1",
      inputArtifacts,
      ...(action.category === "Source" ? { namespace: "SourceVariables" } : {})
    },
    output: {
      outputArtifacts,
      executionResult: result,
      ...(done && action.category === "Source"
        ? { outputVariables: { CommitId: execution.artifactRevisions[0]?.revisionId ?? "", BranchName: "main" } }
        : {})
    }
  }
}

/** One `ListPipelines` summary. */
export const pipelineSummary = (pipeline: EmulatedPipeline): Record<string, unknown> => ({
  name: pipeline.name,
  version: pipeline.version,
  pipelineType: pipeline.pipelineType,
  executionMode: pipeline.executionMode,
  created: seconds(pipeline.created),
  updated: seconds(pipeline.updated)
})

const validationError = (value: unknown, member: string, constraint: string) =>
  new AwsError(
    400,
    "ValidationException",
    `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: ${constraint}`
  )

/** Checks a member against the model's rules for it; throws the `ValidationException` AWS would send. */
export const requireString = (
  input: Record<string, unknown>,
  member: string,
  rules: { readonly required?: boolean; readonly min?: number; readonly max?: number; readonly pattern?: RegExp }
): string | undefined => {
  const value = input[member]
  if (value === undefined || value === null) {
    if (rules.required) throw validationError(value, member, "Member must not be null")
    return undefined
  }
  if (typeof value !== "string") {
    throw new AwsError(400, "SerializationException", `Expected a string for '${member}'`)
  }
  if (rules.min !== undefined && value.length < rules.min) {
    throw validationError(value, member, `Member must have length greater than or equal to ${rules.min}`)
  }
  if (rules.max !== undefined && value.length > rules.max) {
    throw validationError(value, member, `Member must have length less than or equal to ${rules.max}`)
  }
  if (rules.pattern !== undefined && !rules.pattern.test(value)) {
    throw validationError(
      value,
      member,
      `Member must satisfy regular expression pattern: ${rules.pattern.source.slice(1, -1)}`
    )
  }
  return value
}

/** Checks an integer member against its range. */
export const requireInt = (
  input: Record<string, unknown>,
  member: string,
  min: number,
  max: number
): number | undefined => {
  const value = input[member]
  if (value === undefined || value === null) return undefined
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new AwsError(400, "SerializationException", `Expected an integer for '${member}'`)
  }
  if (value < min) throw validationError(value, member, `Member must have value greater than or equal to ${min}`)
  if (value > max) throw validationError(value, member, `Member must have value less than or equal to ${max}`)
  return value
}

/** The model's rules for a pipeline name. */
export const pipelineNameRules = { required: true, ...Identifiers.rules.pipelineName } as const
/** The model's rules for an execution id. */
export const executionIdRules = { required: true, ...Identifiers.rules.pipelineExecutionId } as const
/** The model's rules for a next token. */
export const nextTokenRules = Identifiers.rules.nextToken
/** The model's rules for a stage name. */
export const stageNameRules = Identifiers.rules.stageName

/** The model's rules for an action execution filter's execution id. */
export const filterExecutionIdRules = Identifiers.rules.pipelineExecutionId

/** Encodes a page cursor. */
export const encodeToken = (cursor: Record<string, unknown>): string =>
  Buffer.from(JSON.stringify(cursor)).toString("base64url")

/** Decodes a page cursor; throws `InvalidNextTokenException` when it is not one of ours. */
export const decodeToken = (token: string, kind: string): Record<string, unknown> => {
  try {
    const cursor = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Record<string, unknown>
    if (cursor.k === kind) return cursor
  } catch {
    // falls through to the AWS error
  }
  throw new AwsError(400, "InvalidNextTokenException", "The next token is not valid")
}
