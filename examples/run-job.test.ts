import { randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { CodePipelineError, CodePipelineTest, ExecutionDocument, Identifiers, PipelineExecution } from "@pipetrail/core"
import { Emulator } from "@pipetrail/emulator"
import { Database, DatabaseError, SnapshotJob, SnapshotStore } from "@pipetrail/store"
import { Chunk, Effect, Either, Layer, Logger, Redacted, Stream } from "effect"
import { JobLive, report, ticks } from "./run-job.js"

const postgresUrl =
  process.env.PIPETRAIL_TEST_DATABASE_URL ??
  (process.env.CI === "true" || process.env.CI === "1" ? "postgres://postgres@127.0.0.1:5432/test" : undefined)

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
      : [{ name: "PostgreSQL", store: Database.layerPostgres({ url: Redacted.make(postgresUrl) }) }])
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
        // A source of its own: a shared database may hold earlier runs.
        const seen = yield* ticks("20 millis", `example-${randomUUID()}`).pipe(
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

describe("the example app's unit tests, on pipetrail's test helpers", () => {
  const pipeline = Identifiers.PipelineName.make("payments-api")
  const execution = (id: string, status: string, hour: number) =>
    ExecutionDocument.decode({
      pipelineName: pipeline,
      pipelineExecutionId: id,
      pipelineVersion: 1,
      status,
      startTime: new Date(Date.UTC(2026, 5, 1, hour)).toISOString()
    }).pipe(Either.getOrThrow)

  it.live("a state CodePipeline moves to between two ticks is recorded by the next one", () =>
    Effect.gen(function* () {
      const control = yield* CodePipelineTest.CodePipelineTestControl
      const running = execution("3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4", "InProgress", 10)
      yield* control.put(running)
      const seen = yield* ticks("10 millis").pipe(
        Stream.take(2),
        // Between the ticks, the execution finishes.
        Stream.tap(() =>
          control.put({ ...running, status: PipelineExecution.PipelineExecutionStatus.of("Succeeded") })
        ),
        Stream.runCollect
      )
      const summaries = Chunk.toReadonlyArray(seen).flatMap((t) => (t._tag === "Completed" ? [t.summary] : []))
      assert.deepStrictEqual(
        summaries.map((s) => [s.fetched, s.newSnapshots]),
        [
          [1, 1],
          [1, 1]
        ]
      )
      const store = yield* SnapshotStore.SnapshotStore
      const history = yield* store.history({ pipelineExecutionId: running.pipelineExecutionId })
      assert.deepStrictEqual(
        history.map((h) => h.snapshot.status),
        ["InProgress", "Succeeded"]
      )
    }).pipe(
      Effect.provide(
        Layer.merge(
          CodePipelineTest.layer({ pipelines: [{ name: pipeline }], executions: [] }),
          SnapshotStore.layer.pipe(Layer.provideMerge(Database.layerTest()))
        )
      )
    )
  )

  it.effect("reports a failed tick by its cause: access denied and an unreachable store each have their line", () =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      const capture = Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ message }) => lines.push(String(Array.isArray(message) ? message[0] : message)))
      )
      const failed = (error: SnapshotJob.RunError) =>
        report(SnapshotJob.Tick.Failed({ error })).pipe(Effect.provide(capture))
      yield* failed(
        new CodePipelineError.AccessDeniedError({
          operation: "ListPipelines",
          reason: "AccessDenied",
          code: "AccessDeniedException",
          message: "not allowed"
        })
      )
      yield* failed(new DatabaseError.DatabaseError({ operation: "record", message: "connection refused" }))
      yield* failed(
        new CodePipelineError.NetworkError({ operation: "ListPipelines", code: "ECONNRESET", message: "reset" })
      )
      assert.deepStrictEqual(lines, [
        "pipetrail cannot read CodePipeline: check the role's permissions",
        "the store is unreachable (record), retrying at the next tick",
        "tick failed: NetworkError: reset"
      ])
    })
  )
})
