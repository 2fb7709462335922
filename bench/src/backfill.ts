import { CodePipeline, Identifiers } from "@pipetrail/core"
import { Emulator, Scenario } from "@pipetrail/emulator"
import { Database, SnapshotJob, SnapshotStore } from "@pipetrail/store"
import { Effect, Layer, Redacted } from "effect"
import { fmt, freshDatabase, quick, results, run, timed } from "./harness.js"

// --- 4. backfill against a throttled emulator ------------------------------------------------

export const backfillLayers = (emulator: Emulator.Emulator, database: Layer.Layer<Database.Database, unknown>) =>
  Layer.mergeAll(
    CodePipeline.layer({
      endpoint: emulator.url,
      region: "us-east-1",
      credentials: { accessKeyId: "BENCH", secretAccessKey: Redacted.make("bench") }
    }),
    Layer.provideMerge(Layer.effect(SnapshotStore.SnapshotStore, SnapshotStore.make), database)
  )

export const benchBackfill = async () => {
  const pipelines = quick ? 10 : 100
  const perPipeline = 100
  const total = pipelines * perPipeline
  const rate = 200
  const emulator = await Emulator.start({
    scenario: { seed: 4, pipelines, executionsPerPipeline: perPipeline, running: 0 },
    faults: { latency: 20, throttle: { rate, burst: 20 } }
  })
  const database = await freshDatabase()
  try {
    const layer = backfillLayers(
      emulator,
      database === undefined ? Database.layerPglite() : Database.layerPostgres({ url: Redacted.make(database.url) })
    )
    const names = emulator.pipelines().map((p) => Identifiers.PipelineName.make(p.name))
    const program = Effect.gen(function* () {
      const summary = yield* SnapshotJob.run({
        source: "bench",
        pipelines: names,
        concurrency: 8,
        batchSize: 100,
        incremental: false
      })
      const db = yield* Database.Database
      const stored = yield* db.use("count", (k) =>
        k
          .selectFrom("execution_head")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("source", "=", "bench")
          .executeTakeFirstOrThrow()
      )
      const actions = yield* db.use("count actions", (k) =>
        k
          .selectFrom("action_head")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("source", "=", "bench")
          .executeTakeFirstOrThrow()
      )
      return { summary, stored: Number(stored.n), actions: Number(actions.n) }
    })
    let outcome!: { summary: SnapshotJob.JobSummary; stored: number; actions: number }
    const ms = await timed(async () => {
      outcome = await run(Effect.scoped(Effect.provide(program, layer)))
    })
    const stats = emulator.stats()
    const requests = Object.values(stats.requests).reduce((a, b) => a + b, 0)
    // Per pipeline one list page (100 executions); per execution one get and one action listing
    // (its actions fit one page of 100).
    const needed = 2 * total + pipelines
    const bound = needed / rate
    const ratio = bound / (ms / 1000)
    const throttledShare = stats.throttled / requests
    const missing = total - outcome.stored
    const expectedActions = emulator.executions().reduce((n, e) => n + Scenario.actionPlan(e).length, 0)
    const missingActions = expectedActions - outcome.actions
    results.push({
      id: 4,
      name: `backfill ${total} executions with their action executions / ${pipelines} pipelines (20 ms latency, token bucket ${rate}/s the client is not told)`,
      value: `${fmt(total / (ms / 1000))} executions/s, ${fmt(throttledShare * 100, 1)}% throttled, ${missing} missing, ${missingActions} actions missing`,
      baseline: `bound ${fmt(total / bound)} executions/s (${needed} requests: list, get and action calls ÷ ${rate}/s)`,
      ratio,
      target: "≥ 0.9× bound, ≤ 5% throttled, 0 missing",
      holds: ratio >= 0.9 && throttledShare <= 0.05 && missing === 0 && missingActions === 0,
      details: {
        seconds: ms / 1000,
        requests,
        actionCalls: stats.requests.ListActionExecutions ?? 0,
        actionStates: outcome.actions,
        throttled: stats.throttled,
        store: database === undefined ? "pglite" : "postgres"
      }
    })
  } finally {
    await emulator.close()
    await database?.drop()
  }
}
