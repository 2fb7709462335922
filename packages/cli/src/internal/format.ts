import type { Diff, ExecutionDocument } from "@pipetrail/core"
import type { SnapshotStore } from "@pipetrail/store"
import type { Rows } from "../Output.js"

const value = (v: unknown): string => (v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v))

/** One change as `path: before → after`. */
export const describeChange = (c: Diff.Change): string =>
  c.kind === "added"
    ? `${c.path}: + ${value(c.after)}`
    : c.kind === "removed"
      ? `${c.path}: - ${value(c.before)}`
      : `${c.path}: ${value(c.before)} → ${value(c.after)}`

/** Changes as rows. */
export const changeRows = (changes: ReadonlyArray<Diff.Change>): Rows => ({
  columns: ["path", "kind", "before", "after"],
  rows: changes.map((c) => [c.path, c.kind, value(c.before), value(c.after)])
})

/** Latest states as rows. */
export const snapshotRows = (snapshots: ReadonlyArray<SnapshotStore.Snapshot>): Rows => ({
  columns: [
    "pipeline",
    "execution_id",
    "status",
    "start_time",
    "last_update_time",
    "states",
    "trigger",
    "type",
    "source"
  ],
  rows: snapshots.map((s) => [
    s.pipelineName,
    s.pipelineExecutionId,
    s.status,
    s.document.startTime,
    s.document.lastUpdateTime,
    s.seq,
    s.document.trigger?.triggerType,
    s.document.executionType,
    s.source
  ])
})

/** A document as field/value rows for people. */
export const documentRows = (doc: ExecutionDocument.ExecutionDocument): Rows => {
  const rows: Array<[string, string]> = [
    ["pipeline", doc.pipelineName],
    ["execution_id", doc.pipelineExecutionId],
    ["version", String(doc.pipelineVersion)],
    ["status", doc.status],
    ["status_summary", doc.statusSummary ?? ""],
    ["start_time", doc.startTime?.toISOString() ?? ""],
    ["last_update_time", doc.lastUpdateTime?.toISOString() ?? ""],
    ["trigger", [doc.trigger?.triggerType, doc.trigger?.triggerDetail].filter(Boolean).join(" ")],
    ["mode", doc.executionMode ?? ""],
    ["type", doc.executionType ?? ""],
    ["rollback_target", doc.rollbackMetadata?.rollbackTargetPipelineExecutionId ?? ""]
  ]
  for (const r of doc.artifactRevisions ?? []) {
    rows.push([
      `artifact ${r.name ?? "?"}`,
      [r.revisionId, r.created?.toISOString(), r.revisionUrl].filter(Boolean).join(" ")
    ])
  }
  for (const v of doc.variables ?? []) rows.push([`variable ${v.name ?? "?"}`, v.resolvedValue ?? ""])
  if (doc.stopTrigger?.reason !== undefined) rows.push(["stop_reason", doc.stopTrigger.reason])
  return { columns: ["field", "value"], rows: rows.filter(([, v]) => v !== "") }
}

/** Action executions' states as rows: the stage/action timeline of an execution. */
export const actionRows = (states: ReadonlyArray<SnapshotStore.ActionSnapshot>): Rows => ({
  columns: [
    "stage",
    "action",
    "status",
    "start_time",
    "last_update_time",
    "provider",
    "updated_by",
    "error",
    "summary",
    "url",
    "log_stream",
    "action_execution_id"
  ],
  rows: states.map(({ action }) => {
    const result = action.output?.executionResult
    const error = result?.errorDetails
    return [
      action.stageName,
      action.actionName,
      action.status,
      action.startTime,
      action.lastUpdateTime,
      action.input?.actionTypeId?.provider,
      action.updatedBy,
      error === undefined ? undefined : [error.code, error.message].filter(Boolean).join(": "),
      result?.externalExecutionSummary,
      result?.externalExecutionUrl,
      result?.logStreamARN,
      action.actionExecutionId
    ]
  })
})

/** The approval audit report as rows. */
export const approvalRows = (approvals: ReadonlyArray<SnapshotStore.ApprovalRow>): Rows => ({
  columns: [
    "source",
    "pipeline",
    "execution_id",
    "stage",
    "action",
    "requested_at",
    "decided_at",
    "wait_seconds",
    "decision",
    "decided_by",
    "comment",
    "url"
  ],
  rows: approvals.map((a) => [
    a.source,
    a.pipelineName,
    a.pipelineExecutionId,
    a.stageName,
    a.actionName,
    a.requestedAt,
    a.decidedAt,
    a.waitSeconds,
    a.decision,
    a.decidedBy,
    a.comment,
    a.url
  ])
})

/** An action execution's step in a history, in a few words: `Deploy/Deploy: InProgress → Failed (JobFailed: …)`. */
export const describeActionStep = (step: SnapshotStore.ActionStep): string => {
  const { action } = step.snapshot
  const status = step.changes.find((c) => c.path.endsWith("].status"))
  const error = action.output?.executionResult?.errorDetails
  const head =
    status === undefined
      ? `${action.stageName}/${action.actionName}: ${action.status} (${step.changes.length} fields changed)`
      : `${action.stageName}/${action.actionName}: ${status.kind === "added" ? "" : `${value(status.before)} → `}${value(status.after)}`
  const who = action.updatedBy === undefined ? "" : ` by ${action.updatedBy}`
  const why = error === undefined ? "" : ` (${[error.code, error.message].filter(Boolean).join(": ")})`
  return `${head}${who}${why}`
}
