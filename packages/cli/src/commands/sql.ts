import { Args, Command, Options } from "@effect/cli"
import { Database } from "@pipetrail/store"
import { Effect, Layer } from "effect"
import { databaseLayer, globalOptions, loggerLayer } from "../Global.js"
import { UsageError } from "../internal/errors.js"
import * as Output from "../Output.js"

/** `pipetrail sql "<query>"`: one read-only statement against the store. */
export const sqlCommand = Command.make(
  "sql",
  {
    ...globalOptions,
    timeout: Options.integer("timeout").pipe(
      Options.withDescription("seconds the statement may run before the server cancels it"),
      Options.withDefault(60)
    ),
    query: Args.text({ name: "query" }).pipe(
      Args.withDescription("one SELECT (or WITH, VALUES, TABLE, EXPLAIN, SHOW) statement")
    )
  },
  (c) =>
    Effect.gen(function* () {
      if (!(c.timeout >= 1 && c.timeout <= 86_400)) {
        return yield* new UsageError({ message: `--timeout must be 1 to 86400 seconds, got ${c.timeout}` })
      }
      const db = yield* Database.Database
      const result = yield* db.queryReadOnly(c.query, { timeoutMs: c.timeout * 1000 })
      return yield* Output.print(c.output, {
        columns: result.columns,
        rows: result.rows.map((row) => row.map(Output.cellOf))
      })
    })
).pipe(
  Command.withDescription(
    [
      "Run one read-only SQL statement against the store (the only way into the embedded store).",
      "PostgreSQL's own parser checks it first: one SELECT, WITH, VALUES, TABLE, EXPLAIN (without",
      "ANALYZE) or SHOW, calling no administrative function; it then runs in a read-only transaction",
      "as pipetrail_reader. Tables, views and the refused functions: docs/sql.md.",
      "",
      'Example: pipetrail sql "select pipeline_name, day, deployments, change_failure_rate from delivery_metrics_daily order by day desc"',
      'A statement that starts with a -- comment goes after the options and --: pipetrail sql -o json -- "-- note\nselect 1"'
    ].join("\n")
  ),
  Command.provide((c) => Layer.merge(databaseLayer(c), loggerLayer(c)))
)
