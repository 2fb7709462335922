import { Schema } from "effect"

// The typed errors of the store's reads (re-exported by `SnapshotStore`), each built in one place.

/** No snapshot with that id. */
export class SnapshotNotFoundError extends Schema.TaggedError<SnapshotNotFoundError>()("SnapshotNotFoundError", {
  snapshotId: Schema.Number,
  message: Schema.String
}) {}

/** No stored execution matches the key. */
export class ExecutionNotStoredError extends Schema.TaggedError<ExecutionNotStoredError>()("ExecutionNotStoredError", {
  pipelineExecutionId: Schema.String,
  message: Schema.String
}) {}

/** The execution id matches executions of several sources or pipelines: say which. */
export class AmbiguousExecutionError extends Schema.TaggedError<AmbiguousExecutionError>()("AmbiguousExecutionError", {
  pipelineExecutionId: Schema.String,
  candidates: Schema.Array(Schema.Struct({ source: Schema.String, pipelineName: Schema.String })),
  message: Schema.String
}) {}

/** A stored document no longer decodes (written by a newer pipetrail?). */
export class StoredDocumentError extends Schema.TaggedError<StoredDocumentError>()("StoredDocumentError", {
  snapshotId: Schema.Number,
  issue: Schema.String,
  message: Schema.String
}) {}

/** An observation the store refuses before any write: which value, and what was expected. */
export class InvalidObservationError extends Schema.TaggedError<InvalidObservationError>()("InvalidObservationError", {
  field: Schema.String,
  value: Schema.String,
  pipelineExecutionId: Schema.String,
  message: Schema.String
}) {}

/** The error for an execution id that is not stored. */
export const notStored = (pipelineExecutionId: string) =>
  new ExecutionNotStoredError({
    pipelineExecutionId,
    message: `execution ${pipelineExecutionId} is not in the store`
  })

/** The error for an execution id stored under several sources or pipelines. */
export const ambiguous = (
  pipelineExecutionId: string,
  owners: ReadonlyArray<{ readonly source: string; readonly pipeline_name: string }>
) =>
  new AmbiguousExecutionError({
    pipelineExecutionId,
    candidates: owners.map((c) => ({ source: c.source, pipelineName: c.pipeline_name })),
    message: `execution ${pipelineExecutionId} is stored for ${owners
      .map((c) => `${c.source}/${c.pipeline_name}`)
      .join(" and ")}: give the source or pipeline`
  })
