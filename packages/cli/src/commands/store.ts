import { Args, Command, Options } from "@effect/cli"
import { ExecutionDocument, Identifiers } from "@pipetrail/core"
import { Database, SnapshotStore } from "@pipetrail/store"
import { Clock, Effect, Either, Layer, Option } from "effect"
import { databaseLayer, type Globals, globalOptions, loggerLayer, storeLayer } from "../Global.js"
import { parseSince } from "../internal/duration.js"
import { UsageError } from "../internal/errors.js"
import { changeRows, describeChange, snapshotRows } from "../internal/format.js"
import * as Output from "../Output.js"

const storeOnly = (c: Globals) => Layer.merge(storeLayer(c), loggerLayer(c))

const keyOptions = {
  pipeline: Options.text("pipeline").pipe(Options.withDescription("narrow to this pipeline"), Options.optional)
}

const keyOf = (id: string, c: { pipeline: Option.Option<string>; source: Option.Option<string> }) =>
  Effect.map(Identifiers.parse(Identifiers.PipelineExecutionId, "execution-id")(id), (pipelineExecutionId) => ({
    pipelineExecutionId,
    ...Option.match(c.pipeline, { onNone: () => ({}), onSome: (pipelineName) => ({ pipelineName }) }),
    ...Option.match(c.source, { onNone: () => ({}), onSome: (source) => ({ source }) })
  }))

/** `pipetrail history <execution-id>`: every stored state with what changed at each step. */
export const history = Command.make(
  "history",
  { ...globalOptions, ...keyOptions, executionId: Args.text({ name: "execution-id" }) },
  (c) =>
    Effect.gen(function* () {
      const store = yield* SnapshotStore.SnapshotStore
      const entries = yield* store.history(yield* keyOf(c.executionId, c))
      if (c.output === "json") {
        return yield* Output.printJson(
          entries.map((e) => ({
            snapshotId: e.snapshot.id,
            seq: e.snapshot.seq,
            status: e.snapshot.status,
            firstSeenAt: e.snapshot.firstSeenAt.toISOString(),
            lastSeenAt: e.snapshot.lastSeenAt.toISOString(),
            seenCount: e.snapshot.seenCount,
            contentHash: e.snapshot.contentHash,
            changes: e.changes,
            document: ExecutionDocument.encode(e.snapshot.document)
          }))
        )
      }
      return yield* Output.print(c.output, {
        columns: ["seq", "snapshot", "status", "first_seen", "last_seen", "seen", "changes"],
        rows: entries.map((e) => [
          e.snapshot.seq,
          e.snapshot.id,
          e.snapshot.status,
          e.snapshot.firstSeenAt,
          e.snapshot.lastSeenAt,
          e.snapshot.seenCount,
          e.changes.length === 0
            ? e.snapshot.seq === 1
              ? "(first state stored)"
              : ""
            : e.changes.map(describeChange).join("; ")
        ])
      })
    })
).pipe(
  Command.withDescription(
    "Show an execution's stored states over time and what changed at each step.\n\nExample: pipetrail history 3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4"
  ),
  Command.provide((c) => storeOnly(c))
)

/** `pipetrail diff a b` or `pipetrail diff --snapshots 12 15`. */
export const diff = Command.make(
  "diff",
  {
    ...globalOptions,
    snapshots: Options.boolean("snapshots").pipe(
      Options.withDescription("compare two snapshot ids instead of two executions")
    ),
    a: Args.text({ name: "a" }),
    b: Args.text({ name: "b" })
  },
  (c) =>
    Effect.gen(function* () {
      const store = yield* SnapshotStore.SnapshotStore
      const changes = c.snapshots
        ? yield* Effect.gen(function* () {
            const ids = [c.a, c.b].map((v) => Number(v))
            if (ids.some((id) => !Number.isSafeInteger(id) || id < 1)) {
              return yield* new UsageError({
                message: `snapshot ids are positive integers, got ${JSON.stringify(c.a)} and ${JSON.stringify(c.b)}`
              })
            }
            return yield* store.diffSnapshots(ids[0]!, ids[1]!)
          })
        : yield* store.diffExecutions(
            yield* keyOf(c.a, { pipeline: Option.none(), source: Option.none() }),
            yield* keyOf(c.b, { pipeline: Option.none(), source: Option.none() })
          )
      if (c.output === "json") return yield* Output.printJson(changes)
      if (changes.length === 0 && c.output === "table") return yield* Effect.sync(() => console.log("no differences"))
      return yield* Output.print(c.output, changeRows(changes))
    })
).pipe(
  Command.withDescription(
    [
      "Show what differs between the latest states of two executions, or between two snapshots.",
      "",
      "Examples:",
      "  pipetrail diff 3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4 0e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
      "  pipetrail diff --snapshots 12 15"
    ].join("\n")
  ),
  Command.provide((c) => storeOnly(c))
)

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
      const now = new Date(yield* Clock.currentTimeMillis)
      const since = Option.isSome(c.since)
        ? yield* Either.match(parseSince(c.since.value, now), {
            onLeft: (message) => Effect.fail(new UsageError({ message })),
            onRight: Effect.succeed
          })
        : undefined
      if (!(c.limit >= 1)) return yield* new UsageError({ message: `--limit must be at least 1, got ${c.limit}` })
      const list = yield* store.list({
        ...Option.match(c.pipeline, { onNone: () => ({}), onSome: (pipelineName) => ({ pipelineName }) }),
        ...Option.match(c.status, { onNone: () => ({}), onSome: (status) => ({ status }) }),
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
        rows: result.rows.map((row) =>
          row.map((v) =>
            v === null ||
            v === undefined ||
            typeof v === "string" ||
            typeof v === "number" ||
            typeof v === "boolean" ||
            v instanceof Date
              ? v
              : typeof v === "bigint"
                ? v.toString()
                : v instanceof Uint8Array
                  ? `\\x${Buffer.from(v).toString("hex")}`
                  : JSON.stringify(v)
          )
        )
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
