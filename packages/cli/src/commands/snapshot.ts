import { Command, Options } from "@effect/cli"
import { CodePipeline, Identifiers } from "@pipetrail/core"
import { SnapshotJob } from "@pipetrail/store"
import { Effect, Either, Layer, Option, Stream } from "effect"
import { awsConfig, type Globals, globalOptions, loggerLayer, storeLayer } from "../Global.js"
import { parseDuration, sinceOption } from "../internal/duration.js"
import { JobFailed, JobPartiallyFailed, UsageError, WatchFailed, WatchPartiallyFailed } from "../internal/errors.js"
import * as Progress from "../internal/progress.js"
import { resolveSource } from "../internal/source.js"
import * as Output from "../Output.js"

const selectionOptions = {
  pipeline: Options.text("pipeline").pipe(
    Options.withAlias("p"),
    Options.withDescription("a pipeline to snapshot (repeat for several)"),
    Options.repeated
  ),
  allPipelines: Options.boolean("all-pipelines").pipe(
    Options.withDescription("every pipeline of the account and region")
  ),
  since: Options.text("since").pipe(
    Options.withDescription("only executions started since: a duration back from now (7d, 12h) or a date (2026-06-01)"),
    Options.optional
  ),
  maxExecutions: Options.integer("max-executions").pipe(
    Options.withDescription("at most this many executions per pipeline, newest first"),
    Options.optional
  ),
  concurrency: Options.integer("concurrency").pipe(
    Options.withDescription("requests in flight at once"),
    Options.withDefault(8)
  ),
  rate: Options.float("rate").pipe(
    Options.withDescription("a fixed rate, requests per second; without it the rate adapts to throttling"),
    Options.optional
  ),
  maxAttempts: Options.integer("max-attempts").pipe(
    Options.withDescription("attempts per request before an execution counts as failed (throttling, 5xx, network)"),
    Options.withDefault(10)
  ),
  batchSize: Options.integer("batch-size").pipe(
    Options.withDescription("snapshots written per transaction"),
    Options.withDefault(100)
  ),
  progress: Options.choice("progress", ["auto", "plain", "off"]).pipe(
    Options.withDescription(
      "progress on stderr: auto (a live line on a terminal, else a line per pipeline), plain (a line per pipeline), off"
    ),
    Options.withDefault("auto" as const)
  ),
  quiet: Options.boolean("quiet").pipe(Options.withAlias("q"), Options.withDescription("no progress (--progress off)")),
  noActions: Options.boolean("no-actions").pipe(
    Options.withDescription(
      "do not fetch action executions (stages, approvals, failures); by default they are fetched for executions that changed or have not ended"
    )
  )
}

/** The selection options of `snapshot` and `watch`. */
export interface Selection {
  readonly pipeline: Array<string>
  readonly allPipelines: boolean
  readonly since: Option.Option<string>
  readonly maxExecutions: Option.Option<number>
  readonly concurrency: number
  readonly rate: Option.Option<number>
  readonly maxAttempts: number
  readonly batchSize: number
  readonly progress: Progress.ProgressMode
  readonly quiet: boolean
  readonly noActions: boolean
}

const positive = (name: string, value: number) =>
  Number.isFinite(value) && value > 0
    ? Effect.succeed(value)
    : Effect.fail(new UsageError({ message: `--${name} must be more than 0, got ${value}` }))

/** Validates the selection before any network call. */
const jobOptions = <C extends Selection & Globals>(c: C, incremental: boolean) =>
  Effect.gen(function* () {
    if (c.allPipelines === c.pipeline.length > 0) {
      return yield* new UsageError({
        message: "name pipelines with --pipeline NAME (repeatable), or pass --all-pipelines"
      })
    }
    const pipelines = yield* Effect.forEach(c.pipeline, Identifiers.parse(Identifiers.PipelineName, "--pipeline"))
    const since = yield* sinceOption(c.since)
    if (Option.isSome(c.maxExecutions)) yield* positive("max-executions", c.maxExecutions.value)
    if (Option.isSome(c.rate) && !(c.rate.value >= 0.01 && c.rate.value <= 10_000)) {
      return yield* new UsageError({ message: `--rate must be 0.01 to 10000 requests per second, got ${c.rate.value}` })
    }
    yield* positive("concurrency", c.concurrency)
    yield* positive("max-attempts", c.maxAttempts)
    yield* positive("batch-size", c.batchSize)
    const source = yield* resolveSource(c)
    const display = yield* Progress.display(c.quiet ? "off" : c.progress, c.logFormat === "json")
    const options = {
      source,
      pipelines: c.allPipelines ? ("all" as const) : [...new Set(pipelines)],
      ...(since === undefined ? {} : { since }),
      ...(Option.isSome(c.maxExecutions) ? { maxExecutions: c.maxExecutions.value } : {}),
      concurrency: c.concurrency,
      batchSize: c.batchSize,
      incremental,
      actions: !c.noActions,
      onProgress: display.onProgress,
      onPipelineDone: display.onPipelineDone
    } satisfies SnapshotJob.JobOptions
    return { options, display }
  })

const summaryRows = (s: SnapshotJob.JobSummary): Output.Rows => ({
  columns: [
    "run",
    "source",
    "pipelines",
    "fetched",
    "new",
    "unchanged",
    "actions_fetched",
    "actions_new",
    "rejected",
    "failed",
    "outcome"
  ],
  rows: [
    [
      s.runId,
      s.source,
      s.pipelines,
      s.fetched,
      s.newSnapshots,
      s.unchanged,
      s.actionsFetched,
      s.newActionStates,
      s.rejected,
      s.failed,
      s.outcome
    ]
  ]
})

const printSummary = (format: Output.Format, s: SnapshotJob.JobSummary) =>
  format === "json"
    ? Output.printJson({ ...s, failures: s.failures })
    : Effect.zipRight(
        Output.print(format, summaryRows(s)),
        s.failures.length > 0 && format === "table"
          ? Output.print("table", {
              columns: ["pipeline", "execution_id", "error", "message"],
              rows: s.failures.map((f) => [f.pipelineName, f.pipelineExecutionId, f.error, f.message])
            })
          : Effect.void
      )

const layers = <C extends Selection & Globals>(c: C) =>
  Layer.mergeAll(
    CodePipeline.layer(
      awsConfig(c, {
        concurrency: c.concurrency,
        maxAttempts: c.maxAttempts,
        ...(Option.isSome(c.rate) ? { requestsPerSecond: c.rate.value } : {})
      })
    ),
    storeLayer(c),
    loggerLayer(c)
  )

/** `pipetrail snapshot`: one job run: discover, fetch, store, summarize. */
export const snapshot = Command.make("snapshot", { ...globalOptions, ...selectionOptions }, (c) =>
  Effect.gen(function* () {
    const { options, display } = yield* jobOptions(c, false)
    const summary = yield* display.around(SnapshotJob.run(options))
    yield* printSummary(c.output, summary)
    const counts = { runId: summary.runId, failed: summary.failed, rejected: summary.rejected }
    if (summary.outcome === "failed") return yield* new JobFailed(counts)
    if (summary.failed > 0 || summary.rejected > 0) return yield* new JobPartiallyFailed(counts)
  })
).pipe(
  Command.withDescription(
    [
      "Snapshot executions once: list them, fetch each, store every new state, print a run summary.",
      "Action executions (stages, approvals, failures) are fetched for each execution whose state changed,",
      "that has not ended, or whose actions were not stored yet; --no-actions skips them.",
      "Exit code 3 when some executions failed or were rejected (the rest is stored), 1 when none was",
      "stored, 130/143 when stopped by SIGINT/SIGTERM (what was written is counted in the run).",
      "",
      "Examples:",
      "  pipetrail snapshot --pipeline payments-api --since 7d",
      "  pipetrail snapshot --all-pipelines --max-executions 50 --database-url postgres://localhost/pipetrail"
    ].join("\n")
  ),
  Command.provide((c) => layers(c))
)

/** `pipetrail watch --every 5m`: the snapshot job on a schedule, fetching only what can have changed. */
export const watch = Command.make(
  "watch",
  {
    ...globalOptions,
    ...selectionOptions,
    every: Options.text("every").pipe(
      Options.withDescription("time between ticks: 30s, 5m, 1h"),
      Options.withDefault("5m")
    ),
    ticks: Options.integer("ticks").pipe(
      Options.withDescription("stop after this many ticks (default: run until stopped)"),
      Options.optional
    )
  },
  (c) =>
    Effect.gen(function* () {
      if (Option.isSome(c.ticks) && !(c.ticks.value >= 1)) {
        return yield* new UsageError({ message: `--ticks must be at least 1, got ${c.ticks.value}` })
      }
      const every = yield* Either.match(parseDuration(c.every), {
        onLeft: (message) => Effect.fail(new UsageError({ message: `--every: ${message}` })),
        onRight: Effect.succeed
      })
      const { options, display } = yield* jobOptions(c, true)
      const ticks = SnapshotJob.watch(options, SnapshotJob.every(every))
      const tally = yield* display.around(
        Stream.runFoldEffect(
          Option.match(c.ticks, { onNone: () => ticks, onSome: (n) => Stream.take(ticks, n) }),
          { ticks: 0, notOk: 0 },
          (tally, tick) =>
            SnapshotJob.Tick.$match(tick, {
              Completed: ({ summary }) =>
                c.output === "json"
                  ? Effect.sync(() => process.stdout.write(`${JSON.stringify(summary)}\n`))
                  : Output.print(c.output, summaryRows(summary)),
              // One failed tick (endpoint down, database unreachable) does not end the watch.
              Failed: ({ error }) => Effect.logError(`tick failed: ${error.message}`)
            }).pipe(Effect.as({ ticks: tally.ticks + 1, notOk: tally.notOk + (SnapshotJob.succeeded(tick) ? 0 : 1) }))
        )
      )
      if (tally.notOk > 0 && tally.notOk === tally.ticks) return yield* new WatchFailed({ ticks: tally.ticks })
      if (tally.notOk > 0) return yield* new WatchPartiallyFailed({ ticks: tally.ticks, failedOrPartial: tally.notOk })
    })
).pipe(
  Command.withDescription(
    [
      "Run the snapshot job every --every, incrementally: each tick lists each pipeline's newest executions",
      "and fetches only those that are new or not yet terminal in the store, with their action executions",
      "(not with --no-actions): a tick where nothing changed costs one list call per pipeline. A failed tick is logged and the",
      "watch goes on, waiting twice as long after each failure in a row (up to an hour). SIGINT or SIGTERM",
      "finish the current write and exit 0. With --ticks N: exit 0 if every tick succeeded, 3 if some failed",
      "or were partial, 1 if all failed.",
      "",
      "Example: pipetrail watch --all-pipelines --every 5m --database-url postgres://localhost/pipetrail"
    ].join("\n")
  ),
  Command.provide((c) => layers(c))
)
