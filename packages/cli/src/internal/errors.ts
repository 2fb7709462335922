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

/** A job run in which nothing could be fetched or stored: every execution failed or was rejected. */
export class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", {
  runId: Schema.Number,
  failed: Schema.Number,
  rejected: Schema.Number
}) {
  override get message(): string {
    return `run ${this.runId} failed: no execution was stored (${this.failed} failed, ${this.rejected} rejected; see pipetrail sql "select * from snapshot_run where id = ${this.runId}")`
  }
}

/** `watch --ticks N` ended, and some ticks failed or were partial (all failed: `WatchFailed`). */
export class WatchPartiallyFailed extends Schema.TaggedError<WatchPartiallyFailed>()("WatchPartiallyFailed", {
  ticks: Schema.Number,
  failedOrPartial: Schema.Number
}) {
  override get message(): string {
    return `${this.failedOrPartial} of ${this.ticks} ticks failed or were partial (see the log and snapshot_run)`
  }
}

/** `watch --ticks N` ended and every tick failed. */
export class WatchFailed extends Schema.TaggedError<WatchFailed>()("WatchFailed", {
  ticks: Schema.Number
}) {
  override get message(): string {
    return this.ticks === 1
      ? "the tick failed or was partial (see the log)"
      : `all ${this.ticks} ticks failed or were partial (see the log)`
  }
}
