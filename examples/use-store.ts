import { Database, SnapshotStore } from "@pipetrail/store"
import { Effect, Layer, Redacted } from "effect"

const StoreLive = SnapshotStore.layer.pipe(
  Layer.provideMerge(Database.layerPostgres({ url: Redacted.make(process.env.DATABASE_URL!) }))
  // or Database.layerPglite({ dataDir: "./pipetrail-data" }) for the embedded store
)

export const failedLastWeek = Effect.gen(function* () {
  const store = yield* SnapshotStore.SnapshotStore
  const failed = yield* store.list({ status: "Failed", since: new Date(Date.now() - 7 * 86_400_000) })
  for (const execution of failed) {
    const history = yield* store.history({
      pipelineExecutionId: execution.pipelineExecutionId,
      source: execution.source
    })
    yield* Effect.log(execution.pipelineName, history.map((h) => h.snapshot.status).join(" → "))
  }
}).pipe(Effect.provide(StoreLive))
