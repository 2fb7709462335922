import { CodePipeline } from "@pipetrail/core"
import type { Database, DatabaseError } from "@pipetrail/store"
import { SnapshotJob, SnapshotStore } from "@pipetrail/store"
import { type Duration, Effect, Layer, Stream } from "effect"

// The snapshot job inside your own app: every pipeline, every `interval`, incrementally (a tick
// where nothing changed costs one list call per pipeline). A tick that fails is logged, by cause,
// and the next one runs: the stream never fails.
export const ticks = (interval: Duration.DurationInput, source = "my-app") =>
  SnapshotJob.watch({ source, pipelines: "all", concurrency: 4, batchSize: 50 }, SnapshotJob.every(interval))

export const report = (tick: SnapshotJob.Tick) =>
  SnapshotJob.Tick.$match(tick, {
    Completed: ({ summary }) =>
      Effect.log(`run ${summary.runId}: ${summary.fetched} fetched, ${summary.newSnapshots} new states`),
    Failed: ({ error }) => {
      switch (error._tag) {
        case "AccessDeniedError":
          return Effect.logError("pipetrail cannot read CodePipeline: check the role's permissions")
        case "DatabaseError":
          return Effect.logError(`the store is unreachable (${error.operation}), retrying at the next tick`)
        default:
          return Effect.logWarning(`tick failed: ${error._tag}: ${error.message}`)
      }
    }
  })

// Run it next to your services, e.g. `Effect.forkScoped(snapshotJob("5 minutes"))` in your main.
export const snapshotJob = (interval: Duration.DurationInput) => Stream.runForEach(ticks(interval), report)

// CodePipeline from the default credential chain (or `endpoint` for the emulator), and the store
// on `database`: Database.layerPostgres({ url }) or Database.layerPglite({ dataDir: "./pipetrail-data" }).
export const JobLive = (
  config: CodePipeline.CodePipelineConfig,
  database: Layer.Layer<Database.Database, DatabaseError.DatabaseError>
) => Layer.merge(CodePipeline.layer(config), SnapshotStore.layer.pipe(Layer.provideMerge(database)))
