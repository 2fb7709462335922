import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Emulator } from "@pipetrail/emulator"
import { Database, SnapshotJob } from "@pipetrail/store"
import { Chunk, Effect, Layer, Redacted, Stream } from "effect"
import { freshPostgresUrl, postgresUrl } from "../packages/store/test/utils.js"
import { JobLive, report, ticks } from "./run-job.js"

describe("README example: the snapshot job in your own app", () => {
  it("is the code the README shows", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const example = readFileSync(new URL("./run-job.ts", import.meta.url), "utf8")
    assert.include(readme, example.trim())
  })

  const backends = [
    { name: "the embedded store (test image)", store: Database.layerTest() },
    ...(postgresUrl === undefined
      ? []
      : [
          {
            name: "PostgreSQL (a fresh database)",
            store: Layer.unwrapScoped(
              Effect.map(freshPostgresUrl, ({ url }) => Database.layerPostgres({ url: Redacted.make(url) }))
            )
          }
        ])
  ]
  for (const backend of backends) {
    it.scopedLive(`runs on a schedule against the emulator with the real SDK, on ${backend.name}`, () =>
      Effect.gen(function* () {
        const emulator = yield* Emulator.scoped({ scenario: { seed: 4, pipelines: 2, executionsPerPipeline: 6 } })
        const config = {
          endpoint: emulator.url,
          region: "us-east-1",
          credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: Redacted.make("secret") }
        }
        const seen = yield* ticks("20 millis").pipe(
          Stream.take(2),
          Stream.tap(report),
          Stream.runCollect,
          Effect.provide(JobLive(config, backend.store))
        )
        const [first, second] = Chunk.toReadonlyArray(seen)
        assert.strictEqual(first?._tag, "Completed")
        assert.strictEqual(second?._tag, "Completed")
        if (first?._tag === "Completed" && second?._tag === "Completed") {
          assert.strictEqual(first.summary.fetched, 12)
          assert.isTrue(SnapshotJob.succeeded(first))
          // The second tick fetches only what can still change.
          assert.isBelow(second.summary.fetched, 12)
        }
      })
    )
  }
})
