import { PipelineExecution } from "@pipetrail/core"
import { Random } from "./internal/random.js"

/** A pipeline the emulator serves. Times are epoch milliseconds. */
export interface EmulatedPipeline {
  readonly name: string
  readonly version: number
  readonly pipelineType: string
  readonly executionMode: string
  readonly created: number
  readonly updated: number
}

/** One step of an execution's life: from `at` ms after its start it has this status. */
export interface Step {
  readonly at: number
  readonly status: string
  readonly statusSummary?: string
}

/** A source revision of an execution. */
export interface EmulatedRevision {
  readonly name: string
  readonly actionName: string
  readonly revisionId: string
  readonly revisionChangeIdentifier?: string
  readonly revisionSummary: string
  readonly revisionUrl: string
  readonly created: number
}

/** An execution the emulator serves; what a call returns depends on the emulator's clock. */
export interface EmulatedExecution {
  readonly pipelineName: string
  readonly pipelineExecutionId: string
  readonly pipelineVersion: number
  readonly startTime: number
  readonly steps: ReadonlyArray<Step>
  readonly trigger: { readonly triggerType: string; readonly triggerDetail: string }
  readonly executionMode: string
  readonly executionType: string
  readonly rollbackTargetPipelineExecutionId?: string
  readonly artifactRevisions: ReadonlyArray<EmulatedRevision>
  /** Resolved when the execution reaches a terminal status; empty before. */
  readonly variables: ReadonlyArray<{ readonly name: string; readonly resolvedValue: string }>
  readonly stopReason?: string
}

/** What the generator makes. */
export interface ScenarioOptions {
  /** PRNG seed: the same seed gives the same pipelines and executions (default 1). */
  readonly seed?: number
  /** Number of pipelines (default 3). */
  readonly pipelines?: number
  /** Executions per pipeline (default 12). */
  readonly executionsPerPipeline?: number
  /** The clock's starting time, epoch ms (default 2026-06-01T00:00:00Z). */
  readonly now?: number
  /** How far back history reaches, ms (default 30 days). */
  readonly history?: number
  /** Executions per pipeline still running at `now` (default 2). */
  readonly running?: number
}

/** A generated world: pipelines and their executions. */
export interface Scenario {
  readonly now: number
  readonly pipelines: Array<EmulatedPipeline>
  readonly executions: Array<EmulatedExecution>
}

/** Statuses that never change again (the model's, from core). */
export const terminalStatuses: ReadonlySet<string> = PipelineExecution.terminalStatuses

const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE

const services = [
  "checkout",
  "payments",
  "search",
  "inventory",
  "accounts",
  "gateway",
  "billing",
  "notifications",
  "catalog",
  "ledger"
]
const suffixes = ["api", "web", "worker", "infra", "service", "pipeline"]
const messages = [
  "Fix race in retry loop",
  "Bump dependencies",
  "Add pagination to list endpoint",
  "Refactor config loading",
  'Revert "Enable new cache"',
  "Handle empty responses from upstream",
  "Tighten IAM policy for deploy role",
  "Increase Lambda memory to 1024 MB",
  "Add health check for readiness",
  "Migrate to Node.js 20 runtime",
  "Update README with deployment notes",
  "Feature flag for new checkout flow",
  "Fix flaky integration test",
  "Log request ids on failure"
]
const failureSummaries = [
  "Action Build failed: exit status 1",
  "Deployment failed: health checks did not pass",
  "Action Test failed: 3 of 412 tests failed",
  "Insufficient permissions: the provided role cannot assume sts:AssumeRole",
  "Approval rejected: not ready for production"
]
const triggerTypes = PipelineExecution.TriggerType.literals.filter(
  (t) => t !== "ManualRollback" && t !== "AutomatedRollback"
)

const triggerDetail = (random: Random, type: string, pipeline: string): string => {
  switch (type) {
    case "StartPipelineExecution":
    case "ManualRollback":
      return `arn:aws:sts::123456789012:assumed-role/Deployer/${random.pick(["alice", "bob", "carol", "dave"])}`
    case "Webhook":
    case "WebhookV2":
      return `arn:aws:codestar-connections:us-east-1:123456789012:connection/${random.uuid()}`
    case "CloudWatchEvent":
      return `arn:aws:events:us-east-1:123456789012:rule/${pipeline}-source-change`
    case "AutomatedRollback":
      return `arn:aws:codepipeline:us-east-1:123456789012:${pipeline}`
    default:
      return `arn:aws:codepipeline:us-east-1:123456789012:${pipeline}`
  }
}

const finalStatus = (random: Random): Step => {
  const roll = random.next()
  if (roll < 0.72) return { at: 0, status: "Succeeded" }
  if (roll < 0.86) return { at: 0, status: "Failed", statusSummary: random.pick(failureSummaries) }
  if (roll < 0.92) return { at: 0, status: "Superseded" }
  if (roll < 0.97) return { at: 0, status: "Stopped", statusSummary: "Stopped by user" }
  return { at: 0, status: "Cancelled" }
}

const steps = (random: Random): Array<Step> => {
  const duration = random.int(2, 25) * MINUTE + random.int(0, 59_000)
  const end = finalStatus(random)
  if (end.status === "Stopped") {
    const stopAt = Math.floor(duration * 0.8)
    return [
      { at: 0, status: "InProgress" },
      { at: stopAt, status: "Stopping", statusSummary: "Stopping: abandon in-progress actions" },
      { ...end, at: duration }
    ]
  }
  return [
    { at: 0, status: "InProgress" },
    { ...end, at: duration }
  ]
}

/** Generates one execution of `pipeline` starting at `startTime` with the given PRNG. */
export const generateExecution = (
  random: Random,
  pipeline: EmulatedPipeline,
  startTime: number,
  previous: ReadonlyArray<EmulatedExecution>
): EmulatedExecution => {
  const succeeded = previous.filter((e) => e.steps[e.steps.length - 1]?.status === "Succeeded")
  const isRollback = succeeded.length > 0 && random.chance(0.06)
  const type = isRollback ? random.pick(["ManualRollback", "AutomatedRollback"]) : random.pick(triggerTypes)
  const repo = pipeline.name.replace(/-(pipeline|prod|staging)$/, "")
  const revisions: Array<EmulatedRevision> = [
    (() => {
      const sha = random.hex(40)
      return {
        name: "SourceArtifact",
        actionName: "Source",
        revisionId: sha,
        revisionSummary: JSON.stringify({
          ProviderType: "GitHub",
          CommitMessage: random.pick(messages)
        }),
        revisionUrl: `https://github.com/acme/${repo}/commit/${sha}`,
        created: startTime - random.int(1, 240) * MINUTE
      }
    })()
  ]
  if (random.chance(0.3)) {
    const version = random.hex(32)
    revisions.push({
      name: "ConfigArtifact",
      actionName: "Config",
      revisionId: version,
      revisionChangeIdentifier: `${random.int(1, 999)}`,
      revisionSummary: `s3://acme-config/${repo}/config.zip (version ${version.slice(0, 8)})`,
      revisionUrl: `https://s3.console.aws.amazon.com/s3/object/acme-config?prefix=${repo}/config.zip`,
      created: startTime - random.int(60, 20_000) * MINUTE
    })
  }
  const life = steps(random)
  const last = life[life.length - 1]!
  return {
    pipelineName: pipeline.name,
    pipelineExecutionId: random.uuid(),
    pipelineVersion: pipeline.version,
    startTime,
    steps: life,
    trigger: { triggerType: type, triggerDetail: triggerDetail(random, type, pipeline.name) },
    executionMode: pipeline.executionMode,
    executionType: isRollback ? "ROLLBACK" : "STANDARD",
    ...(isRollback ? { rollbackTargetPipelineExecutionId: random.pick(succeeded).pipelineExecutionId } : {}),
    artifactRevisions: revisions,
    variables: [
      { name: "BuildNumber", resolvedValue: String(random.int(1, 5000)) },
      { name: "Environment", resolvedValue: random.pick(["staging", "production"]) },
      { name: "CommitId", resolvedValue: revisions[0]!.revisionId }
    ],
    ...(last.status === "Stopped"
      ? { stopReason: random.pick(["Hotfix superseded this", "Wrong branch", "Abandoned by on-call"]) }
      : {})
  }
}

/** Generates a deterministic scenario: the same options give the same world. */
export const generate = (options: ScenarioOptions = {}): Scenario => {
  const random = new Random(options.seed ?? 1)
  const now = options.now ?? Date.UTC(2026, 5, 1)
  const history = options.history ?? 30 * DAY
  const count = options.pipelines ?? 3
  const perPipeline = options.executionsPerPipeline ?? 12
  const running = Math.min(options.running ?? 2, perPipeline)
  const pipelines: Array<EmulatedPipeline> = []
  const executions: Array<EmulatedExecution> = []
  const names = new Set<string>()
  for (let p = 0; p < count; p++) {
    let name = `${random.pick(services)}-${random.pick(suffixes)}`
    if (names.has(name)) name = `${name}-${p}`
    names.add(name)
    const created = now - history - random.int(1, 300) * DAY
    const pipeline: EmulatedPipeline = {
      name,
      version: random.int(1, 40),
      pipelineType: random.chance(0.7) ? "V2" : "V1",
      executionMode: random.pick(["QUEUED", "SUPERSEDED", "PARALLEL"]),
      created,
      updated: created + random.int(0, 200) * DAY
    }
    pipelines.push(pipeline)
    const own: Array<EmulatedExecution> = []
    const finished = perPipeline - running
    for (let i = 0; i < perPipeline; i++) {
      const startTime =
        i < finished
          ? now - history + Math.floor(((i + random.next() * 0.5) * (history - DAY)) / Math.max(1, finished))
          : now - random.int(1, 90) * 1000 - (perPipeline - i) * 1000
      const execution = generateExecution(random, pipeline, startTime, own)
      own.push(execution)
    }
    executions.push(...own)
  }
  return { now, pipelines, executions }
}

/** The status of an execution at time `now`, and when it took that status. */
export const stateAt = (execution: EmulatedExecution, now: number): { readonly step: Step; readonly since: number } => {
  let current = execution.steps[0]!
  for (const step of execution.steps) if (execution.startTime + step.at <= now) current = step
  return { step: current, since: execution.startTime + current.at }
}

/** A stage of every generated pipeline, its share of an execution's notional length, and its action. */
interface StagePlan {
  readonly stageName: string
  readonly actionName: string
  readonly category: string
  readonly provider: string
  readonly from: number
  readonly to: number
}

const stagePlans: ReadonlyArray<StagePlan> = [
  {
    stageName: "Source",
    actionName: "Source",
    category: "Source",
    provider: "CodeStarSourceConnection",
    from: 0,
    to: 0.1
  },
  { stageName: "Build", actionName: "Build", category: "Build", provider: "CodeBuild", from: 0.1, to: 0.45 },
  {
    stageName: "Approve",
    actionName: "ProductionApproval",
    category: "Approval",
    provider: "Manual",
    from: 0.45,
    to: 0.75
  },
  { stageName: "Deploy", actionName: "Deploy", category: "Deploy", provider: "CodeDeploy", from: 0.75, to: 1 }
]

const approvers = [
  "arn:aws:iam::123456789012:user/alice",
  "arn:aws:iam::123456789012:user/bob",
  "arn:aws:sts::123456789012:assumed-role/ReleaseManager/carol",
  "arn:aws:sts::123456789012:assumed-role/ReleaseManager/dave"
]
const approvalComments = [
  "LGTM, ship it",
  "Approved after change review CHG-4821",
  "Approved: staging soak looked clean",
  "OK for the evening window"
]
const buildErrors = [
  { code: "JobFailed", message: "Build failed: exit status 1 in phase BUILD" },
  { code: "JobFailed", message: "Unit tests failed: 3 of 412" }
]

/** One action execution an execution runs: where it sits and how it ends. Times are epoch ms. */
export interface PlannedAction {
  readonly actionExecutionId: string
  readonly stageName: string
  readonly actionName: string
  readonly category: string
  readonly provider: string
  readonly start: number
  readonly end: number
  /** Its status from `end` on (`InProgress` before). */
  readonly status: "Succeeded" | "Failed" | "Abandoned"
  /** Who decided a manual approval, with the approver's comment. */
  readonly approval?: { readonly updatedBy: string; readonly comment: string }
  readonly error?: { readonly code: string; readonly message: string }
  readonly externalExecutionId: string
}

/** A 32-bit FNV-1a hash: each execution's actions come from a PRNG of its own, the world's draws untouched. */
const hashOf = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

const failedStage = (summary: string | undefined): string =>
  summary?.startsWith("Approval rejected") === true
    ? "Approve"
    : summary?.startsWith("Action Build") === true || summary?.startsWith("Action Test") === true
      ? "Build"
      : "Deploy"

/**
 * The action executions of an execution, consistent with its status over time: source, build, a
 * manual approval, deploy, each starting when the previous one ends. A succeeded execution ran
 * them all; a failed one ends with the failing action (a rejected approval, a build or deploy
 * error with `errorDetails`); a stopped, superseded or cancelled one abandons the action it was in.
 * Some builds fail once and are retried: two action executions of one action. The same execution
 * always gives the same plan.
 */
export const actionPlan = (execution: EmulatedExecution): ReadonlyArray<PlannedAction> => {
  const random = new Random(hashOf(execution.pipelineExecutionId))
  const last = execution.steps[execution.steps.length - 1]!
  const duration = last.at
  const status = last.status
  // Where in its notional length the execution ended: all of it, unless it stopped early.
  let reached = 1
  if (status === "Failed") {
    const plan = stagePlans.find((p) => p.stageName === failedStage(last.statusSummary))!
    reached = plan.from + (plan.to - plan.from) * (0.3 + 0.6 * random.next())
  } else if (status !== "Succeeded") {
    reached = 0.15 + 0.8 * random.next()
  }
  const length = duration / reached
  const at = (fraction: number) => execution.startTime + Math.round(fraction * length)
  const end = execution.startTime + duration
  const actions: Array<PlannedAction> = []
  for (const plan of stagePlans) {
    if (plan.from >= reached) break
    const start = at(plan.from)
    const stops = plan.to >= reached
    const finalStatus = !stops
      ? "Succeeded"
      : status === "Succeeded"
        ? "Succeeded"
        : status === "Failed"
          ? "Failed"
          : "Abandoned"
    if (plan.category === "Build" && random.chance(0.15) && (!stops || reached > plan.from + 0.2)) {
      // A build that failed once, its stage retried.
      const failedAt = at(plan.from + 0.12)
      actions.push({
        actionExecutionId: random.uuid(),
        stageName: plan.stageName,
        actionName: plan.actionName,
        category: plan.category,
        provider: plan.provider,
        start,
        end: failedAt,
        status: "Failed",
        error: random.pick(buildErrors),
        externalExecutionId: `${execution.pipelineName}-build:${random.uuid()}`
      })
      actions.push(
        planned(
          random,
          execution,
          plan,
          failedAt + Math.round(0.01 * length),
          stops ? end : at(plan.to),
          finalStatus,
          last.statusSummary
        )
      )
      continue
    }
    actions.push(planned(random, execution, plan, start, stops ? end : at(plan.to), finalStatus, last.statusSummary))
  }
  return actions
}

const planned = (
  random: Random,
  execution: EmulatedExecution,
  plan: StagePlan,
  start: number,
  end: number,
  status: PlannedAction["status"],
  summary: string | undefined
): PlannedAction => {
  const approval =
    plan.category !== "Approval" || status === "Abandoned"
      ? undefined
      : {
          updatedBy: random.pick(approvers),
          comment: status === "Failed" ? "Rejected: not ready for production" : random.pick(approvalComments)
        }
  const error =
    status !== "Failed" || plan.category === "Approval"
      ? undefined
      : plan.category === "Build"
        ? random.pick(buildErrors)
        : { code: "JobFailed", message: summary ?? "Deployment failed" }
  return {
    actionExecutionId: random.uuid(),
    stageName: plan.stageName,
    actionName: plan.actionName,
    category: plan.category,
    provider: plan.provider,
    start,
    end: Math.max(start, end),
    status,
    ...(approval === undefined ? {} : { approval }),
    ...(error === undefined ? {} : { error }),
    externalExecutionId:
      plan.category === "Build"
        ? `${execution.pipelineName}-build:${random.uuid()}`
        : `d-${random.hex(9).toUpperCase()}`
  }
}
