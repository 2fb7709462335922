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
