import { Args, Command, Options } from "@effect/cli"
import { ActionExecution } from "@pipetrail/core"
import { SnapshotStore } from "@pipetrail/store"
import { Console, Effect, Option } from "effect"
import { globalOptions } from "../Global.js"
import { sinceOption } from "../internal/duration.js"
import { UsageError } from "../internal/errors.js"
import { actionRows, approvalRows } from "../internal/format.js"
import { keyOf, keyOptions, pipelineOption, storeOnly } from "../internal/storeCommand.js"
import * as Output from "../Output.js"

/** `pipetrail actions <execution-id>`: the stage/action timeline of an execution. */
export const actions = Command.make(
  "actions",
  { ...globalOptions, ...keyOptions, executionId: Args.text({ name: "execution-id" }) },
  (c) =>
    Effect.gen(function* () {
      const store = yield* SnapshotStore.SnapshotStore
      const key = yield* keyOf(c.executionId, c)
      const timeline = yield* store.actions(key)
      if (c.output === "json") {
        return yield* Output.printJson(
          timeline.map((s) => ({
            source: s.source,
            pipelineName: s.pipelineName,
            stateId: s.stateId,
            lastSeenAt: s.lastSeenAt.toISOString(),
            action: ActionExecution.encode(s.action)
          }))
        )
      }
      if (timeline.length === 0 && c.output === "table") {
        return yield* Console.log(
          `no action executions stored for ${key.pipelineExecutionId} (snapshot and watch fetch them while CodePipeline still has the execution, unless --no-actions)`
        )
      }
      return yield* Output.print(c.output, actionRows(timeline))
    })
).pipe(
  Command.withDescription(
    [
      "Show an execution's stage and action timeline as stored: each action execution's latest state,",
      "in the order they started, with times, who updated it (the approver), the error and the external URL.",
      "",
      "Example: pipetrail actions 3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4"
    ].join("\n")
  ),
  Command.provide((c) => storeOnly(c))
)

/** `pipetrail approvals`: the manual approval audit report. */
export const approvals = Command.make(
  "approvals",
  {
    ...globalOptions,
    pipeline: Options.text("pipeline").pipe(
      Options.withAlias("p"),
      Options.withDescription("only this pipeline's approvals"),
      Options.optional
    ),
    since: Options.text("since").pipe(
      Options.withDescription(
        "requested since: a duration back from now (90d, 12h) or a date (2026-06-01, UTC midnight)"
      ),
      Options.optional
    ),
    limit: Options.integer("limit").pipe(
      Options.withDescription("at most this many, newest first"),
      Options.withDefault(1000)
    )
  },
  (c) =>
    Effect.gen(function* () {
      const store = yield* SnapshotStore.SnapshotStore
      const since = yield* sinceOption(c.since)
      if (!(c.limit >= 1)) return yield* new UsageError({ message: `--limit must be at least 1, got ${c.limit}` })
      const pipeline = yield* pipelineOption(c.pipeline)
      const rows = yield* store.approvals({
        ...Option.match(pipeline, { onNone: () => ({}), onSome: (pipelineName) => ({ pipelineName }) }),
        ...Option.match(c.source, { onNone: () => ({}), onSome: (source) => ({ source }) }),
        ...(since === undefined ? {} : { since }),
        limit: c.limit
      })
      if (c.output === "json") {
        return yield* Output.printJson(
          rows.map((r) => ({
            ...r,
            requestedAt: r.requestedAt?.toISOString(),
            decidedAt: r.decidedAt?.toISOString()
          }))
        )
      }
      if (rows.length === 0 && c.output === "table") {
        return yield* Console.log(
          "no approvals stored for this selection (snapshot and watch collect them unless --no-actions)"
        )
      }
      return yield* Output.print(c.output, approvalRows(rows))
    })
).pipe(
  Command.withDescription(
    [
      "The approval audit report: every manual approval, newest first, with when it was requested and",
      "decided, how long it waited, the decision, who decided (the approver's ARN) and their comment.",
      "Decisions: approved; rejected (failed, with an approver); failed (failed with no approver: it expired,",
      "for one); pending (not decided yet); abandoned (the execution stopped or was superseded first).",
      "Times are UTC. With -o csv, a cell a spreadsheet would run as a formula starts with a quote.",
      "",
      "Example: pipetrail approvals --pipeline payments-api --since 90d --output csv"
    ].join("\n")
  ),
  Command.provide((c) => storeOnly(c))
)
