import { Schema } from "effect"

/** Bad command-line input that @effect/cli cannot see (a date, a duration, a combination of options). */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String
}) {}

/** A job finished, but some executions could not be fetched or stored. */
export class JobPartiallyFailed extends Schema.TaggedError<JobPartiallyFailed>()("JobPartiallyFailed", {
  runId: Schema.Number,
  failed: Schema.Number,
  rejected: Schema.Number
}) {
  override get message(): string {
    return `run ${this.runId} finished with ${this.failed} failed and ${this.rejected} rejected executions (see pipetrail sql "select * from snapshot_run where id = ${this.runId}")`
  }
}

/** `pipetrail db check` found damage. */
export class StoreDamaged extends Schema.TaggedError<StoreDamaged>()("StoreDamaged", {
  problems: Schema.Number
}) {
  override get message(): string {
    return `the store failed its checks: ${this.problems} problems (see the report above); restore a backup or investigate before writing to it`
  }
}
