import { Identifiers } from "@pipetrail/core"
import { Emulator } from "@pipetrail/emulator"
import { Database, SnapshotJob } from "@pipetrail/store"
import { Effect, Redacted } from "effect"
import { backfillLayers } from "./backfill.js"
import { freshDatabase, quick, results, run } from "./harness.js"

// --- 5. watch tick with nothing changed ----------------------------------------------------------

export const benchWatchTick = async () => {
  const pipelines = quick ? 200 : 1000
  const emulator = await Emulator.start({ scenario: { seed: 5, pipelines, executionsPerPipeline: 1, running: 0 } })
  const database = await freshDatabase()
  let queries = 0
  const counting = { log: () => void queries++ }
  try {
    const layer = backfillLayers(
      emulator,
      database === undefined
        ? Database.layerPglite(counting)
        : Database.layerPostgres({ url: Redacted.make(database.url), ...counting })
    )
    const names = emulator.pipelines().map((p) => Identifiers.PipelineName.make(p.name))
    const job = { source: "bench", pipelines: names, concurrency: 8, batchSize: 100, incremental: true } as const
    await run(
      Effect.scoped(
        Effect.provide(
          Effect.gen(function* () {
            yield* SnapshotJob.run(job)
            emulator.resetStats()
            queries = 0
            yield* SnapshotJob.run(job)
          }),
          layer
        )
      )
    )
    const stats = emulator.stats()
    const lists = stats.requests.ListPipelineExecutions ?? 0
    const gets = stats.requests.GetPipelineExecution ?? 0
    const actions = stats.requests.ListActionExecutions ?? 0
    results.push({
      id: 5,
      name: `watch tick over ${pipelines} pipelines, nothing changed`,
      value: `${lists} list calls, ${gets} get calls, ${actions} action calls, ${queries} database round trips`,
      baseline: "—",
      target: `exactly ${pipelines} list calls, 0 get calls, 0 action calls, ≤ 10 round trips`,
      holds: lists === pipelines && gets === 0 && actions === 0 && queries <= 10
    })
  } finally {
    await emulator.close()
    await database?.drop()
  }
}
