import { assert, describe, it } from "@effect/vitest"
import { CodePipelineTest } from "@pipetrail/core"
import { SnapshotJob, type SnapshotStore } from "@pipetrail/store"
import { Chunk, Duration, Effect, FastCheck as fc, Layer, Schedule, Stream, Tracer } from "effect"
import { backends, doc, executionId, freshSource, storeLayer } from "./utils.js"

const summary = (outcome: SnapshotStore.RunOutcome): SnapshotJob.JobSummary => ({
  runId: 1,
  source: "test",
  pipelines: 1,
  outcome,
  failures: [],
  fetched: 0,
  newSnapshots: 0,
  unchanged: 0,
  rejected: 0,
  failed: 0
})

const tick = fc.constantFrom<SnapshotJob.Tick>(
  SnapshotJob.Tick.Completed({ summary: summary("succeeded") }),
  SnapshotJob.Tick.Completed({ summary: summary("partial") }),
  SnapshotJob.Tick.Completed({ summary: summary("failed") })
)

/** The waits `every(interval)` gives after each of `ticks`, in milliseconds. */
const waits = (interval: number, ticks: ReadonlyArray<SnapshotJob.Tick>) =>
  Schedule.run(Schedule.delays(SnapshotJob.every(Duration.millis(interval))), 0, ticks).pipe(
    Effect.map((delays) => Chunk.toReadonlyArray(delays).map(Duration.toMillis))
  )

const hour = 3_600_000

describe("SnapshotJob.every", () => {
  it.effect(
    "waits the interval after a tick that succeeded, twice as long after each bad one in a row, up to an hour",
    () =>
      Effect.gen(function* () {
        const ok = SnapshotJob.Tick.Completed({ summary: summary("succeeded") })
        const bad = SnapshotJob.Tick.Completed({ summary: summary("partial") })
        const minutes = (ms: ReadonlyArray<number>) => ms.map((m) => m / 60_000)
        assert.deepStrictEqual(minutes(yield* waits(300_000, [ok, bad, bad, bad, ok, bad])), [5, 10, 20, 40, 5, 10])
        assert.deepStrictEqual(minutes(yield* waits(300_000, Array(6).fill(bad))), [10, 20, 40, 60, 60, 60])
        // An interval longer than an hour is the cap itself.
        assert.deepStrictEqual(minutes(yield* waits(2 * hour, [bad, bad, ok])), [120, 120, 120])
      })
  )

  it.effect(
    "for any interval and any run of outcomes: a good tick waits the interval, a bad streak grows to the cap and no further",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 3 * hour }),
            fc.array(tick, { maxLength: 30 }),
            (interval, ticks) =>
              Effect.runPromise(
                Effect.map(waits(interval, ticks), (delays) => {
                  const cap = Math.max(interval, hour)
                  assert.strictEqual(delays.length, ticks.length)
                  delays.forEach((delay, i) => {
                    if (SnapshotJob.succeeded(ticks[i]!)) assert.strictEqual(delay, interval)
                    else {
                      assert.isAtMost(delay, cap)
                      const previous = i === 0 || SnapshotJob.succeeded(ticks[i - 1]!) ? interval : delays[i - 1]!
                      assert.strictEqual(delay, Math.min(previous * 2, cap))
                    }
                  })
                })
              )
          ),
          { numRuns: 200 }
        )
      )
  )
})

for (const backend of backends) {
  describe(`SnapshotJob on ${backend.name}`, () => {
    it.live(
      "a watch snapshots everything once, then only what can still change, tick after tick",
      () =>
        Effect.gen(function* () {
          const source = freshSource()
          const [done1, done2, running] = [executionId(), executionId(), executionId()]
          const executions = [
            doc(done1, { status: "Succeeded", startTime: "2026-06-01T08:00:00.000Z" }),
            doc(done2, { status: "Failed", startTime: "2026-06-01T09:00:00.000Z" }),
            doc(running, { status: "InProgress", startTime: "2026-06-01T10:00:00.000Z" })
          ]
          const codepipeline = CodePipelineTest.layer({
            pipelines: [{ name: executions[0]!.pipelineName }],
            executions: executions.map((execution) => ({ execution }))
          })
          const ticks = yield* SnapshotJob.watch(
            { source, pipelines: [executions[0]!.pipelineName], concurrency: 2, batchSize: 10 },
            SnapshotJob.every("10 millis")
          ).pipe(
            Stream.take(3),
            Stream.runCollect,
            Effect.provide(Layer.merge(codepipeline, storeLayer(backend.database)))
          )
          const summaries = Chunk.toReadonlyArray(ticks).map((t) => {
            assert.strictEqual(t._tag, "Completed")
            return (t as Extract<SnapshotJob.Tick, { _tag: "Completed" }>).summary
          })
          assert.deepStrictEqual(
            summaries.map((s) => [s.outcome, s.fetched, s.newSnapshots, s.unchanged]),
            [
              ["succeeded", 3, 3, 0],
              ["succeeded", 1, 0, 1],
              ["succeeded", 1, 0, 1]
            ]
          )
          // Each tick is a run of its own.
          assert.strictEqual(new Set(summaries.map((s) => s.runId)).size, 3)
        }),
      { timeout: 60_000 }
    )

    it.live(
      "a run is one trace: the run's span holds the store's, named, with batch sizes and outcomes",
      () =>
        Effect.gen(function* () {
          const source = freshSource()
          const executions = [executionId(), executionId()].map((id) => doc(id, { status: "Succeeded" }))
          const spans: Array<Tracer.Span> = []
          const summary = yield* Effect.tracerWith((tracer) =>
            SnapshotJob.run({
              source,
              pipelines: [executions[0]!.pipelineName],
              concurrency: 2,
              batchSize: 10,
              incremental: false
            }).pipe(
              Effect.withTracer(
                Tracer.make({
                  span: (...args) => {
                    const span = tracer.span(...args)
                    spans.push(span)
                    return span
                  },
                  context: tracer.context
                })
              )
            )
          ).pipe(
            Effect.provide(
              Layer.merge(
                CodePipelineTest.layer({
                  pipelines: [{ name: executions[0]!.pipelineName }],
                  executions: executions.map((execution) => ({ execution }))
                }),
                storeLayer(backend.database)
              )
            )
          )
          const named = (name: string) => spans.filter((s) => s.name === name)
          const [run] = named("SnapshotJob.run")
          assert.isDefined(run)
          assert.strictEqual(run!.attributes.get("runId"), summary.runId)
          assert.strictEqual(run!.attributes.get("outcome"), "succeeded")
          const batches = named("SnapshotStore.recordMany")
          assert.deepStrictEqual(
            batches.map((b) => [b.attributes.get("batchSize"), b.attributes.get("new"), b.attributes.get("unchanged")]),
            [[2, 2, 0]]
          )
          // Every store span and the transaction under it descend from the run's span.
          const ancestors = (span: Tracer.AnySpan): Array<string> =>
            span._tag === "Span" && span.parent._tag === "Some"
              ? [span.parent.value.spanId, ...ancestors(span.parent.value)]
              : []
          for (const span of [...named("SnapshotStore.startRun"), ...batches, ...named("Database.transaction")]) {
            assert.include(ancestors(span), run!.spanId, span.name)
          }
        }),
      { timeout: 60_000 }
    )
  })
}
