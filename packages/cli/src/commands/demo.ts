import { join } from "node:path"
import { Command, Options } from "@effect/cli"
import { CodePipeline, Identifiers } from "@pipetrail/core"
import type { Emulator } from "@pipetrail/emulator"
import { Database, SnapshotJob, SnapshotStore } from "@pipetrail/store"
import { Clock, Console, Context, Effect, Layer, Option, Redacted } from "effect"
import { sql } from "kysely"
import { loggerLayer } from "../Global.js"
import { actionRows, approvalRows, describeActionStep, describeChange } from "../internal/format.js"
import { loadEmulator } from "../internal/loadEmulator.js"
import * as Output from "../Output.js"

class DemoEmulator extends Context.Tag("@pipetrail/cli/DemoEmulator")<DemoEmulator, Emulator.Emulator>() {}

const demoDataDir = () => join(Database.defaultDataDir(), "..", "demo")

const options = {
  dataDir: Options.text("data-dir").pipe(
    Options.withDescription("embedded store of the demo (default ~/.local/share/pipetrail/demo)"),
    Options.optional
  ),
  seed: Options.integer("seed").pipe(Options.withDefault(42)),
  logFormat: Options.choice("log-format", ["text", "json"]).pipe(Options.withDefault("text" as const))
}

/** The time the demo lets pass between its two snapshot runs. */
const demoWindow = 30 * 60_000

const layers = (c: { dataDir: Option.Option<string>; seed: number; logFormat: "text" | "json" }) => {
  const emulator = Layer.scoped(
    DemoEmulator,
    // The emulator's clock starts 30 minutes ago (to the second) and the demo lets those 30
    // minutes pass: execution times end at about now, on one timeline with the store's
    // first/last-seen times, and none lies in the future.
    Effect.flatMap(Effect.zip(Clock.currentTimeMillis, loadEmulator), ([now, { Emulator }]) =>
      Emulator.scoped({
        scenario: {
          seed: c.seed,
          pipelines: 3,
          executionsPerPipeline: 10,
          running: 2,
          now: Math.floor((now - demoWindow) / 1000) * 1000
        }
      })
    ).pipe(Effect.orDie)
  )
  const codepipeline = Layer.unwrapEffect(
    Effect.map(DemoEmulator, (em) =>
      CodePipeline.layer({
        endpoint: em.url,
        region: "us-east-1",
        credentials: { accessKeyId: "DEMO", secretAccessKey: Redacted.make("demo") }
      })
    )
  )
  const store = Layer.provideMerge(
    SnapshotStore.layer,
    Database.layerPglite({ dataDir: Option.getOrElse(c.dataDir, demoDataDir) })
  )
  return Layer.mergeAll(Layer.provideMerge(codepipeline, emulator), store, loggerLayer(c))
}

const printRun = (run: SnapshotJob.JobSummary) =>
  Output.print("table", {
    columns: ["run", "fetched", "new", "unchanged", "actions_fetched", "actions_new", "rejected", "failed"],
    rows: [
      [
        run.runId,
        run.fetched,
        run.newSnapshots,
        run.unchanged,
        run.actionsFetched,
        run.newActionStates,
        run.rejected,
        run.failed
      ]
    ]
  })

const step = (text: string) => Console.log(`\n== ${text}`)

/** `pipetrail demo`: the whole product on an in-process emulator and an embedded store. */
export const demo = Command.make("demo", options, (c) =>
  Effect.gen(function* () {
    const em = yield* DemoEmulator
    const store = yield* SnapshotStore.SnapshotStore
    const db = yield* Database.Database
    const source = `demo:${new Date().toISOString()}`
    const pipelines = yield* Effect.forEach(em.pipelines(), (p) =>
      Identifiers.parse(Identifiers.PipelineName, "pipeline")(p.name)
    )
    const dir = Option.getOrElse(c.dataDir, demoDataDir)
    yield* Console.log(`pipetrail demo: emulator at ${em.url}, embedded store in ${dir}`)

    yield* step(`snapshot ${pipelines.length} pipelines (${pipelines.join(", ")})`)
    const job = { source, pipelines, concurrency: 8, batchSize: 100, incremental: false } as const
    const first = yield* SnapshotJob.run(job)
    yield* printRun(first)

    const running = em.executions().filter((e) => e.startTime + e.steps[e.steps.length - 1]!.at > em.now())
    yield* step(`30 minutes pass: ${running.length} running executions finish, each pipeline starts a new one`)
    em.advance(demoWindow)
    for (const p of pipelines) em.startExecution(p)
    const second = yield* SnapshotJob.run({ ...job, incremental: true })
    yield* printRun(second)

    const changed = running[0]
    if (changed !== undefined) {
      yield* step(`history of ${changed.pipelineName} ${changed.pipelineExecutionId}`)
      const pipelineExecutionId = yield* Identifiers.parse(
        Identifiers.PipelineExecutionId,
        "execution"
      )(changed.pipelineExecutionId)
      const history = yield* store.history({ pipelineExecutionId, source })
      yield* Output.print("table", {
        columns: ["seq", "snapshot", "status", "first_seen", "changes"],
        rows: history.map((h) => [
          h.snapshot.seq,
          h.snapshot.id,
          h.snapshot.status,
          h.snapshot.firstSeenAt,
          [
            h.changes.length === 0 ? "(first state stored)" : h.changes.map(describeChange).join("; "),
            ...h.actions.map(describeActionStep)
          ].join("; ")
        ])
      })
      if (history.length >= 2) {
        yield* step(`pipetrail diff --snapshots ${history[0]!.snapshot.id} ${history[history.length - 1]!.snapshot.id}`)
        const changes = yield* store.diffSnapshots(history[0]!.snapshot.id, history[history.length - 1]!.snapshot.id)
        yield* Output.print("table", {
          columns: ["path", "kind", "before", "after"],
          rows: changes.map((ch) => [
            ch.path,
            ch.kind,
            JSON.stringify(ch.before ?? null),
            JSON.stringify(ch.after ?? null)
          ])
        })
      }
    }

    const failed = yield* Effect.promise(() =>
      sql<{ pipeline_execution_id: string }>`
        select pipeline_execution_id from action_failure where source = ${source} and category <> 'Approval'
        order by failed_at desc limit 1
      `.execute(db.kysely)
    )
    const failedId = failed.rows[0]?.pipeline_execution_id
    if (failedId !== undefined) {
      yield* step(`pipetrail actions ${failedId}: which action failed, why, and where its logs are`)
      const pipelineExecutionId = yield* Identifiers.parse(Identifiers.PipelineExecutionId, "execution")(failedId)
      yield* Output.print("table", actionRows(yield* store.actions({ pipelineExecutionId, source })))
    }

    yield* step("pipetrail approvals: who approved what, when, after how long, with what comment")
    yield* Output.print("table", approvalRows((yield* store.approvals({ source })).slice(0, 8)))

    yield* step("delivery metrics (view delivery_metrics_daily)")
    const metrics = yield* Effect.promise(() =>
      sql<Record<string, unknown>>`
        select pipeline_name, count(*)::int as days, sum(deployments)::int as deployments, sum(failures)::int as failures,
          round((sum(failures)::numeric / nullif(sum(deployments) + sum(failures), 0)), 2)::float8 as change_failure_rate,
          round((avg(lead_time_avg_seconds) / 60)::numeric, 1)::float8 as lead_time_minutes,
          round((avg(time_to_restore_avg_seconds) / 60)::numeric, 1)::float8 as time_to_restore_minutes
        from delivery_metrics_daily where source = ${source} group by pipeline_name order by pipeline_name
      `.execute(db.kysely)
    )
    const columns = [
      "pipeline_name",
      "days",
      "deployments",
      "failures",
      "change_failure_rate",
      "lead_time_minutes",
      "time_to_restore_minutes"
    ]
    yield* Output.print("table", {
      columns,
      rows: metrics.rows.map((row) => columns.map((c) => Output.cellOf(row[c])))
    })
    yield* Console.log(`\nExplore the demo store: pipetrail sql --data-dir ${dir} "select * from approval limit 5"`)
  })
).pipe(
  Command.withDescription(
    "Run pipetrail end to end without AWS or a database server: an in-process emulator, two snapshot runs\nwith time passing between them, then history, a diff, a failed action, the approval report and delivery metrics.\n\nExample: pipetrail demo"
  ),
  Command.provide(layers)
)
