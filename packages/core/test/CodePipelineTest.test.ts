import { assert, describe, it } from "@effect/vitest"
import { CodePipeline, CodePipelineTest, ExecutionDocument } from "@pipetrail/core"
import { Chunk, Effect, Fiber, FastCheck as fc, Stream, TestClock } from "effect"
import fixture from "./fixtures/get-pipeline-execution.json" with { type: "json" }
import { executionId, pipelineName } from "./utils.js"

const execution = ExecutionDocument.decode(fixture.pipelineExecution).pipe((r) => {
  if (r._tag === "Left") throw new Error(r.left.message)
  return r.right
})

const TestLayer = CodePipelineTest.layer({
  pipelines: [{ name: execution.pipelineName }],
  executions: [{ execution }]
})

describe("CodePipelineTest", () => {
  it.layer(TestLayer)("in-memory service", (it) => {
    it.effect("serves stored executions and lists them", () =>
      Effect.gen(function* () {
        const service = yield* CodePipeline.CodePipeline
        const got = yield* service.getPipelineExecution(execution.pipelineName, execution.pipelineExecutionId)
        assert.strictEqual(got.pipelineExecutionId, execution.pipelineExecutionId)
        const listed = yield* Stream.runCollect(service.listPipelineExecutions(execution.pipelineName))
        assert.deepStrictEqual(
          Chunk.toReadonlyArray(listed).map((s) => s.pipelineExecutionId),
          [execution.pipelineExecutionId]
        )
        const done = yield* service.awaitExecution(execution.pipelineName, execution.pipelineExecutionId)
        assert.strictEqual(done.status, "Succeeded")
      })
    )

    it.effect("refuses the page sizes the real service refuses, and dates observations by the Clock", () =>
      Effect.gen(function* () {
        const service = yield* CodePipeline.CodePipeline
        for (const pageSize of [0, 1.5, 101, Number.NaN]) {
          const error = yield* Effect.flip(
            Stream.runDrain(service.listPipelineExecutions(execution.pipelineName, { pageSize }))
          )
          assert.strictEqual(error._tag, "InvalidInputError", String(pageSize))
          assert.include(error.message, "integer from 1 to 100")
        }
        yield* TestClock.setTime(Date.UTC(2026, 5, 1, 12))
        const observed = yield* service.observePipelineExecution(execution.pipelineName, execution.pipelineExecutionId)
        assert.strictEqual(observed.observedAt.toISOString(), "2026-06-01T12:00:00.000Z")
        assert.strictEqual(observed.value.pipelineExecutionId, execution.pipelineExecutionId)
      })
    )

    it.effect("fails like the real service", () =>
      Effect.gen(function* () {
        const service = yield* CodePipeline.CodePipeline
        const noPipeline = yield* Effect.flip(
          service.getPipelineExecution(pipelineName("other"), executionId(execution.pipelineExecutionId))
        )
        assert.strictEqual(noPipeline._tag, "PipelineNotFoundError")
        const noExecution = yield* Effect.flip(
          service.getPipelineExecution(
            pipelineName(execution.pipelineName),
            executionId("00000000-0000-4000-8000-000000000000")
          )
        )
        assert.strictEqual(noExecution._tag, "PipelineExecutionNotFoundError")
        // A bad name cannot be given: it fails where it is parsed, before any call.
        assert.throws(() => pipelineName("bad name"))
      })
    )
  })

  // Invariant: whatever executions are put, in whatever order, the list is newest first by start
  // time (the latest put first among equal times), with each execution once, in its latest state.
  it.effect("lists newest first and serves each execution's latest state, for any sequence of puts", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              execution: fc.nat(5),
              start: fc.nat(3),
              status: fc.constantFrom("InProgress", "Succeeded", "Failed")
            }),
            {
              minLength: 1,
              maxLength: 25
            }
          ),
          (puts) =>
            Effect.runPromise(
              Effect.gen(function* () {
                const control = yield* CodePipelineTest.CodePipelineTestControl
                const service = yield* CodePipeline.CodePipeline
                const ids = Array.from({ length: 6 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`)
                const model = new Map<string, { start: number; status: string; order: number }>()
                for (const [order, p] of puts.entries()) {
                  const id = ids[p.execution]!
                  const state = { ...execution, pipelineExecutionId: id, status: p.status } as typeof execution
                  yield* control.put(state, {
                    pipelineExecutionId: state.pipelineExecutionId,
                    status: state.status,
                    startTime: new Date(Date.UTC(2026, 5, 1, p.start))
                  })
                  model.set(id, { start: p.start, status: p.status, order: model.get(id)?.order ?? order })
                }
                const listed = Chunk.toReadonlyArray(
                  yield* Stream.runCollect(service.listPipelineExecutions(execution.pipelineName))
                )
                const expected = [...model.entries()]
                  .sort(([, a], [, b]) => b.start - a.start || b.order - a.order)
                  .map(([id, m]) => [id, m.status])
                assert.deepStrictEqual(
                  listed.map((s) => [s.pipelineExecutionId, s.status]),
                  expected
                )
                for (const [id, m] of model) {
                  assert.strictEqual(
                    (yield* service.getPipelineExecution(pipelineName(execution.pipelineName), executionId(id))).status,
                    m.status
                  )
                }
              }).pipe(
                Effect.provide(
                  CodePipelineTest.layer({ pipelines: [{ name: execution.pipelineName }], executions: [] })
                )
              )
            )
        ),
        { numRuns: 100 }
      )
    )
  )

  it.effect("awaitExecution sees a state put later, on the test clock", () =>
    Effect.gen(function* () {
      const control = yield* CodePipelineTest.CodePipelineTestControl
      const service = yield* CodePipeline.CodePipeline
      const running = { ...execution, status: "InProgress" } as typeof execution
      yield* control.put(running)
      const waiting = yield* Effect.fork(service.awaitExecution(execution.pipelineName, execution.pipelineExecutionId))
      yield* TestClock.adjust("1 second")
      assert.isUndefined(yield* Fiber.poll(waiting).pipe(Effect.map((o) => (o._tag === "Some" ? o.value : undefined))))
      yield* control.put({ ...execution, status: "Succeeded" } as typeof execution)
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Fiber.join(waiting)).status, "Succeeded")
    }).pipe(Effect.provide(CodePipelineTest.layer({ pipelines: [{ name: execution.pipelineName }], executions: [] })))
  )
})
