import { assert, describe, it } from "@effect/vitest"
import { CodePipeline, CodePipelineTest, ExecutionDocument } from "@pipetrail/core"
import { Chunk, Effect, Stream, TestClock } from "effect"
import fixture from "./fixtures/get-pipeline-execution.json" with { type: "json" }

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
        const noPipeline = yield* Effect.flip(service.getPipelineExecution("other", execution.pipelineExecutionId))
        assert.strictEqual(noPipeline._tag, "PipelineNotFoundError")
        const noExecution = yield* Effect.flip(
          service.getPipelineExecution(execution.pipelineName, "00000000-0000-4000-8000-000000000000")
        )
        assert.strictEqual(noExecution._tag, "PipelineExecutionNotFoundError")
        const invalid = yield* Effect.flip(service.getPipelineExecution("bad name", execution.pipelineExecutionId))
        assert.strictEqual(invalid._tag, "InvalidInputError")
      })
    )
  })
})
