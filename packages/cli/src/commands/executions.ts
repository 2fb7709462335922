import { Command, Options } from "@effect/cli"
import { ExecutionDocument, PipelineExecution } from "@pipetrail/core"
import { SnapshotStore } from "@pipetrail/store"
import { Effect, Option } from "effect"
import { globalOptions } from "../Global.js"
import { sinceOption } from "../internal/duration.js"
import { UsageError } from "../internal/errors.js"
import { snapshotRows } from "../internal/format.js"
import { pipelineOption, storeOnly } from "../internal/storeCommand.js"
import * as Output from "../Output.js"

/** `pipetrail executions`: latest stored states with filters. */
export const executions = Command.make(
  "executions",
  {
    ...globalOptions,
    pipeline: Options.text("pipeline").pipe(Options.withAlias("p"), Options.optional),
    status: Options.text("status").pipe(Options.withDescription("Succeeded, Failed, InProgress…"), Options.optional),
    since: Options.text("since").pipe(
      Options.withDescription("started since: 7d, 12h or 2026-06-01"),
      Options.optional
    ),
    limit: Options.integer("limit").pipe(Options.withDefault(50))
  },
  (c) =>
    Effect.gen(function* () {
      const store = yield* SnapshotStore.SnapshotStore
      const since = yield* sinceOption(c.since)
      if (!(c.limit >= 1)) return yield* new UsageError({ message: `--limit must be at least 1, got ${c.limit}` })
      const pipeline = yield* pipelineOption(c.pipeline)
      const list = yield* store.list({
        ...Option.match(pipeline, { onNone: () => ({}), onSome: (pipelineName) => ({ pipelineName }) }),
        ...Option.match(c.status, {
          onNone: () => ({}),
          onSome: (status) => ({ status: PipelineExecution.PipelineExecutionStatus.of(status) })
        }),
        ...Option.match(c.source, { onNone: () => ({}), onSome: (source) => ({ source }) }),
        ...(since === undefined ? {} : { since }),
        limit: c.limit
      })
      if (c.output === "json") {
        return yield* Output.printJson(
          list.map((s) => ({
            source: s.source,
            snapshotId: s.id,
            states: s.seq,
            lastSeenAt: s.lastSeenAt.toISOString(),
            document: ExecutionDocument.encode(s.document)
          }))
        )
      }
      return yield* Output.print(c.output, snapshotRows(list))
    })
).pipe(
  Command.withDescription(
    "List the latest stored state of executions, newest first.\n\nExample: pipetrail executions --pipeline payments-api --status Failed --since 30d"
  ),
  Command.provide((c) => storeOnly(c))
)
