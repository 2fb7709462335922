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
  "Insufficient permissions: the provided role cannot assume sts:AssumeRole"
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
