import {
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  ListPipelineExecutionsCommand,
  CodePipelineClient as SdkClient
} from "@aws-sdk/client-codepipeline"
import { assert, describe, it } from "@effect/vitest"
import { CodePipelineError, ExecutionDocument, Identifiers } from "@pipetrail/core"
import type { Emulator } from "@pipetrail/emulator"
import { Chunk, Effect, Fiber, Schedule, Stream } from "effect"
import { credentials, executionId, pipelineName, withEmulator } from "./utils.js"

const firstOf = (emulator: Emulator.Emulator) => {
  const execution = emulator.executions()[0]!
  return { name: pipelineName(execution.pipelineName), id: executionId(execution.pipelineExecutionId), execution }
}

const rawClient = (emulator: Emulator.Emulator) =>
  new SdkClient({
    region: "us-east-1",
    endpoint: emulator.url,
    maxAttempts: 1,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: "secret" }
  })

/** What the real SDK rejects with for one emulator answer, mapped by core. */
const sdkFailure = (
  emulator: Emulator.Emulator,
  send: (client: SdkClient) => Promise<unknown>,
  context: { pipelineName?: string; pipelineExecutionId?: string } = {}
) =>
  Effect.promise(async () => {
    const client = rawClient(emulator)
    try {
      await send(client)
      return undefined
    } catch (error) {
      return error
    } finally {
      client.destroy()
    }
  }).pipe(
    Effect.map((error) => ({ error })),
    Effect.tap(({ error }) => assert.isDefined(error)),
    Effect.map(({ error }) => ({ error, context }))
  )

describe("CodePipeline over the real SDK against the emulator", () => {
  it.scopedLive("decodes every field GetPipelineExecution returns", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator({
        scenario: { seed: 7, pipelines: 2, executionsPerPipeline: 30, running: 0 }
      })
      const withConfig = emulator
        .executions()
        .find((e) => e.artifactRevisions.length > 1 && e.executionType === "STANDARD")!
      const rollback = emulator.executions().find((e) => e.executionType === "ROLLBACK")!
      for (const source of [withConfig, rollback]) {
        const e = yield* service.getPipelineExecution(
          pipelineName(source.pipelineName),
          executionId(source.pipelineExecutionId)
        )
        const last = source.steps[source.steps.length - 1]!
        assert.strictEqual(e.pipelineName, source.pipelineName)
        assert.strictEqual(e.pipelineExecutionId, source.pipelineExecutionId)
        assert.strictEqual(e.pipelineVersion, source.pipelineVersion)
        assert.strictEqual(e.status, last.status)
        assert.strictEqual(e.statusSummary, last.statusSummary)
        assert.strictEqual(e.executionMode, source.executionMode)
        assert.strictEqual(e.executionType, source.executionType)
        assert.deepStrictEqual<unknown>({ ...e.trigger }, source.trigger)
        assert.deepStrictEqual<unknown>(e.variables, source.variables)
        assert.strictEqual(e.artifactRevisions?.length, source.artifactRevisions.length)
        source.artifactRevisions.forEach((r, i) => {
          const got = e.artifactRevisions![i]!
          assert.strictEqual(got.name, r.name)
          assert.strictEqual(got.revisionId, r.revisionId)
          assert.strictEqual(got.revisionChangeIdentifier, r.revisionChangeIdentifier)
          assert.strictEqual(got.revisionSummary, r.revisionSummary)
          assert.strictEqual(got.revisionUrl, r.revisionUrl)
          assert.strictEqual(got.created?.getTime(), r.created)
        })
        assert.strictEqual(
          e.rollbackMetadata?.rollbackTargetPipelineExecutionId,
          source.rollbackTargetPipelineExecutionId
        )
      }
      assert.strictEqual(rollback.executionType, "ROLLBACK")
      assert.isDefined(rollback.rollbackTargetPipelineExecutionId)
    })
  )

  it.scopedLive("an observation is dated when its response arrives, not when it was asked or recorded", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator({
        scenario: { seed: 3, pipelines: 1, executionsPerPipeline: 2, running: 0 },
        faults: { latency: 300 }
      })
      const { name, id, execution } = firstOf(emulator)
      const asked = Date.now()
      const observed = yield* service.observePipelineExecution(name, id)
      const returned = Date.now()
      assert.strictEqual(observed.value.pipelineExecutionId, execution.pipelineExecutionId)
      // The answer took at least the emulator's latency to arrive: the time is taken after it.
      assert.isAtLeast(observed.observedAt.getTime(), asked + 300)
      assert.isAtMost(observed.observedAt.getTime(), returned)
      yield* Effect.sleep("20 millis")
      const again = yield* service.observePipelineExecution(name, id)
      assert.isAbove(again.observedAt.getTime(), observed.observedAt.getTime())
    })
  )

  it.scopedLive("lists every execution over 3+ pages, newest first, with times", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator({
        scenario: { seed: 3, pipelines: 1, executionsPerPipeline: 23 }
      })
      const name = emulator.pipelines()[0]!.name
      const summaries = Chunk.toReadonlyArray(
        yield* Stream.runCollect(service.listPipelineExecutions(pipelineName(name), { pageSize: 5 }))
      )
      const expected = emulator.executions().filter((e) => e.pipelineName === name)
      assert.strictEqual(summaries.length, 23)
      assert.deepStrictEqual(
        summaries.map((s) => s.pipelineExecutionId),
        [...expected].sort((a, b) => b.startTime - a.startTime).map((e) => e.pipelineExecutionId)
      )
      assert.strictEqual(new Set(summaries.map((s) => s.pipelineExecutionId)).size, 23)
      assert.strictEqual(emulator.stats().requests.ListPipelineExecutions, 5)
      for (const s of summaries) {
        const source = expected.find((e) => e.pipelineExecutionId === s.pipelineExecutionId)!
        assert.strictEqual(s.startTime?.getTime(), source.startTime)
        assert.isDefined(s.lastUpdateTime)
        assert.strictEqual(s.sourceRevisions?.[0]?.revisionId, source.artifactRevisions[0]!.revisionId)
      }
    })
  )

  it.scopedLive("lists pipelines over several pages", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator({
        scenario: { seed: 5, pipelines: 7, executionsPerPipeline: 1 }
      })
      const pipelines = Chunk.toReadonlyArray(yield* Stream.runCollect(service.listPipelines({ pageSize: 3 })))
      assert.deepStrictEqual(
        pipelines.map((p) => p.name).sort(),
        emulator
          .pipelines()
          .map((p) => p.name)
          .sort()
      )
      assert.strictEqual(emulator.stats().requests.ListPipelines, 3)
      const first = emulator.pipelines().find((p) => p.name === pipelines[0]!.name)!
      assert.strictEqual(pipelines[0]!.created?.getTime(), first.created)
      assert.strictEqual(pipelines[0]!.pipelineType, first.pipelineType)
    })
  )

  it.scopedLive(
    "an invalid name or id fails to parse, so no request can carry it; a bad page size fails before any",
    () =>
      Effect.gen(function* () {
        const { emulator, service } = yield* withEmulator()
        // The service takes parsed (branded) names and ids only: parsing is where a bad one stops.
        const badName = yield* Effect.flip(Identifiers.parse(Identifiers.PipelineName, "pipelineName")("bad name!"))
        assert.strictEqual(badName._tag, "InvalidInputError")
        assert.include(badName.message, '"bad name!"')
        const badId = yield* Effect.flip(
          Identifiers.parse(Identifiers.PipelineExecutionId, "pipelineExecutionId")("12345")
        )
        assert.strictEqual(badId._tag, "InvalidInputError")
        const tooLong = yield* Effect.flip(Identifiers.parse(Identifiers.PipelineName, "pipelineName")("x".repeat(101)))
        assert.strictEqual(tooLong._tag, "InvalidInputError")
        const badPage = yield* Effect.flip(
          Stream.runDrain(service.listPipelineExecutions(pipelineName("ok"), { pageSize: 101 }))
        )
        assert.strictEqual(badPage._tag, "InvalidInputError")
        assert.deepStrictEqual(emulator.stats().requests, {})
      })
  )

  it.scopedLive("maps not-found answers to their tagged errors with the identifiers", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator()
      const { name } = firstOf(emulator)
      const noPipeline = yield* Effect.flip(
        service.getPipelineExecution(
          pipelineName("missing-pipeline"),
          executionId("3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4")
        )
      )
      assert.strictEqual(noPipeline._tag, "PipelineNotFoundError")
      assert.strictEqual((noPipeline as CodePipelineError.PipelineNotFoundError).pipelineName, "missing-pipeline")
      const noExecution = yield* Effect.flip(
        service.getPipelineExecution(name, executionId("3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4"))
      )
      assert.strictEqual(noExecution._tag, "PipelineExecutionNotFoundError")
      assert.strictEqual(
        (noExecution as CodePipelineError.PipelineExecutionNotFoundError).pipelineExecutionId,
        "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4"
      )
      const noPipelineList = yield* Effect.flip(
        Stream.runDrain(service.listPipelineExecutions(pipelineName("missing-pipeline")))
      )
      assert.strictEqual(noPipelineList._tag, "PipelineNotFoundError")
      // not-found is not retried
      assert.strictEqual(emulator.stats().requests.GetPipelineExecution, 2)
    })
  )

  it.scopedLive("maps the SDK's validation and next-token errors", () =>
    Effect.gen(function* () {
      const { emulator } = yield* withEmulator()
      const validation = yield* sdkFailure(emulator, (c) =>
        c.send(new GetPipelineExecutionCommand({ pipelineName: "bad name", pipelineExecutionId: "x" }))
      )
      const mappedValidation = fromSdk("GetPipelineExecution", validation.error)
      assert.strictEqual(mappedValidation._tag, "ValidationError")
      assert.include(mappedValidation.message, "pipelineName")
      assert.isDefined((mappedValidation as CodePipelineError.ValidationError).requestId)
      const token = yield* sdkFailure(emulator, (c) =>
        c.send(new ListPipelineExecutionsCommand({ pipelineName: firstOf(emulator).name, nextToken: "garbage" }))
      )
      assert.strictEqual(fromSdk("ListPipelineExecutions", token.error)._tag, "InvalidNextTokenError")
      const unknownOperation = yield* sdkFailure(emulator, (c) =>
        c.send(
          new CreatePipelineCommand({
            pipeline: { name: "p", roleArn: "arn:aws:iam::123456789012:role/x", stages: [] }
          })
        )
      )
      const mappedUnknown = fromSdk("GetPipelineExecution", unknownOperation.error)
      assert.strictEqual(mappedUnknown._tag, "ServiceFaultError")
      assert.strictEqual((mappedUnknown as CodePipelineError.ServiceFaultError).status, 400)
      assert.isFalse(CodePipelineError.isRetryable(mappedUnknown))
    })
  )

  const forced = [
    { type: "AccessDeniedException", status: 400, tag: "AccessDeniedError", reason: "AccessDenied" },
    { type: "UnrecognizedClientException", status: 400, tag: "AccessDeniedError", reason: "Credentials" },
    { type: "ExpiredTokenException", status: 400, tag: "AccessDeniedError", reason: "Credentials" },
    { type: "InvalidSignatureException", status: 403, tag: "AccessDeniedError", reason: "Credentials" },
    { type: "ThrottlingException", status: 400, tag: "ThrottledError" },
    { type: "InternalFailure", status: 500, tag: "ServiceFaultError" },
    { type: "ServiceUnavailableException", status: 503, tag: "ServiceFaultError" },
    { type: "BrandNewException", status: 400, tag: "ServiceFaultError" }
  ] as const

  for (const f of forced) {
    it.scopedLive(`maps ${f.type} (${f.status}) to ${f.tag}`, () =>
      Effect.gen(function* () {
        const { emulator, service } = yield* withEmulator(
          { faults: { forceError: { type: f.type, status: f.status } } },
          { maxAttempts: 3 }
        )
        const { name, id } = firstOf(emulator)
        const error = yield* Effect.flip(service.getPipelineExecution(name, id))
        assert.strictEqual(error._tag, f.tag)
        if (error._tag === "AccessDeniedError") {
          assert.strictEqual(error.reason, "reason" in f ? f.reason : undefined)
          assert.strictEqual(error.code, f.type)
          assert.isDefined(error.requestId)
        }
        if (error._tag === "ServiceFaultError") {
          assert.strictEqual(error.status, f.status)
          assert.strictEqual(error.code, f.type)
          assert.isDefined(error.requestId)
        }
        const retried = f.tag === "ThrottledError" || f.status >= 500
        assert.strictEqual(emulator.stats().requests.GetPipelineExecution, retried ? 3 : 1)
      })
    )
  }

  it.scopedLive("maps a refused connection to NetworkError after retries", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator({}, { maxAttempts: 2 })
      const { name, id } = firstOf(emulator)
      yield* Effect.promise(() => emulator.close())
      const error = yield* Effect.flip(service.getPipelineExecution(name, id))
      assert.strictEqual(error._tag, "NetworkError")
      assert.strictEqual((error as CodePipelineError.NetworkError).code, "ECONNREFUSED")
    })
  )

  it.scopedLive("maps a slow answer to a NetworkError timeout", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator(
        { faults: { latency: 1000 } },
        { maxAttempts: 1, requestTimeout: "100 millis" }
      )
      const { name, id } = firstOf(emulator)
      const error = yield* Effect.flip(service.getPipelineExecution(name, id))
      assert.strictEqual(error._tag, "NetworkError")
      assert.strictEqual((error as CodePipelineError.NetworkError).code, "Timeout")
    })
  )

  it.scopedLive("retries throttling and dropped connections to success", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator(
        {
          faults: { throttleRate: 0.3, dropConnectionRate: 0.1, serverErrorRate: 0.1 },
          scenario: { seed: 11, pipelines: 1, executionsPerPipeline: 40 }
        },
        { maxAttempts: 20, concurrency: 4 }
      )
      const ids = emulator.executions().map((e) => [e.pipelineName, e.pipelineExecutionId] as const)
      const results = yield* Effect.forEach(
        ids,
        ([n, i]) => service.getPipelineExecution(pipelineName(n), executionId(i)),
        { concurrency: 4 }
      )
      assert.deepStrictEqual(
        results.map((r) => r.pipelineExecutionId),
        ids.map(([, i]) => i)
      )
      const stats = emulator.stats()
      assert.isAbove(stats.throttled, 0)
      assert.isAbove(stats.dropped + stats.serverErrors, 0)
      assert.strictEqual(stats.requests.GetPipelineExecution, 40 + stats.throttled + stats.dropped + stats.serverErrors)
    })
  )

  it.scopedLive("honours its rate limit: a client capped below the service's rate is never throttled", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator(
        {
          faults: { throttle: { rate: 20, burst: 2 } },
          scenario: { seed: 2, pipelines: 1, executionsPerPipeline: 15 }
        },
        { requestsPerSecond: 12, maxRequestsPerSecond: 12, concurrency: 4, maxAttempts: 1 }
      )
      const ids = emulator.executions().map((e) => [e.pipelineName, e.pipelineExecutionId] as const)
      yield* Effect.forEach(ids, ([n, i]) => service.getPipelineExecution(pipelineName(n), executionId(i)), {
        concurrency: 4
      })
      assert.strictEqual(emulator.stats().throttled, 0)
      assert.strictEqual(emulator.stats().requests.GetPipelineExecution, 15)
    })
  )

  it.scopedLive("adapts to a rate limit it is not told: throttled early, then converges", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator(
        {
          faults: { throttle: { rate: 25, burst: 5 } },
          scenario: { seed: 4, pipelines: 1, executionsPerPipeline: 60 }
        },
        { requestsPerSecond: 100, maxRequestsPerSecond: 200, concurrency: 8, maxAttempts: 30 }
      )
      const ids = emulator.executions().map((e) => [e.pipelineName, e.pipelineExecutionId] as const)
      const results = yield* Effect.forEach(
        ids,
        ([n, i]) => service.getPipelineExecution(pipelineName(n), executionId(i)),
        { concurrency: 8 }
      )
      assert.strictEqual(results.length, 60)
      const stats = emulator.stats()
      assert.isAbove(stats.throttled, 0)
      assert.isBelow(stats.throttled, 60)
    })
  )

  it.scopedLive("keeps unknown enum values served by the service", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator()
      const base = firstOf(emulator).execution
      emulator.addExecution({
        ...base,
        pipelineExecutionId: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
        steps: [{ at: 0, status: "Paused" }],
        trigger: { triggerType: "ScheduledTrigger", triggerDetail: "cron(0 12 * * ? *)" },
        executionMode: "SERIAL"
      })
      const e = yield* service.getPipelineExecution(
        pipelineName(base.pipelineName),
        executionId("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
      )
      assert.strictEqual(e.status, "Paused")
      assert.strictEqual(e.trigger?.triggerType, "ScheduledTrigger")
      assert.strictEqual(e.executionMode, "SERIAL")
      const listed = yield* Stream.runCollect(service.listPipelineExecutions(pipelineName(base.pipelineName)))
      assert.isTrue(Chunk.some(listed, (s) => s.status === "Paused"))
    })
  )

  it.scopedLive("turns a malformed payload into ResponseDecodeError carrying the raw payload", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator({
        faults: { malformedRate: 1 },
        scenario: { seed: 9, pipelines: 1, executionsPerPipeline: 30 }
      })
      let decodeErrors = 0
      for (const e of emulator.executions()) {
        const result = yield* Effect.either(
          service.getPipelineExecution(pipelineName(e.pipelineName), executionId(e.pipelineExecutionId))
        )
        if (result._tag === "Left") {
          const error = result.left
          assert.strictEqual(error._tag, "ResponseDecodeError")
          if (error._tag !== "ResponseDecodeError") continue
          decodeErrors++
          assert.strictEqual(error.pipelineExecutionId, e.pipelineExecutionId)
          assert.isTrue(error.issue.length > 0)
          assert.isNotNull(error.payload)
          const payload = (
            typeof error.payload === "string" ? JSON.parse(error.payload).pipelineExecution : error.payload
          ) as Record<string, unknown>
          assert.strictEqual(payload.pipelineName ?? e.pipelineName, e.pipelineName)
        }
      }
      assert.isAbove(decodeErrors, 5)
      assert.strictEqual(emulator.stats().malformed, 30)
    })
  )

  it.scopedLive("skips malformed summaries through onMalformed, or fails without it", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator({
        faults: { malformedRate: 1, malformedOperations: ["ListPipelineExecutions"] },
        scenario: { seed: 21, pipelines: 1, executionsPerPipeline: 4 }
      })
      const name = emulator.pipelines()[0]!.name
      emulator.addExecution({
        ...emulator.executions()[0]!,
        pipelineExecutionId: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
        startTime: emulator.now() - 1,
        steps: [{ at: 0, status: "InProgress" }]
      })
      emulator.setFaults({ malformedRate: 1, malformedOperations: ["ListPipelineExecutions"] })
      const seen: Array<CodePipelineError.ResponseDecodeError> = []
      const summaries = yield* Stream.runCollect(
        service.listPipelineExecutions(pipelineName(name), {
          onMalformed: (error) => Effect.sync(() => void seen.push(error))
        })
      )
      const malformed = seen.length
      assert.strictEqual(Chunk.size(summaries) + malformed, 5)
      const failed = yield* Effect.either(Stream.runDrain(service.listPipelineExecutions(pipelineName(name))))
      if (malformed > 0) {
        assert.strictEqual(failed._tag, "Left")
        assert.deepStrictEqual(seen[0]!.operation, "ListPipelineExecutions")
      }
    })
  )

  it.scopedLive(
    "awaitExecution polls until the execution reaches a terminal status",
    () =>
      Effect.gen(function* () {
        const { emulator, service } = yield* withEmulator({
          scenario: { seed: 12, pipelines: 1, executionsPerPipeline: 3, running: 1 }
        })
        const running = emulator
          .executions()
          .find((e) => e.startTime + e.steps[e.steps.length - 1]!.at > emulator.now())!
        const fiber = yield* Effect.fork(
          service.awaitExecution(pipelineName(running.pipelineName), executionId(running.pipelineExecutionId), {
            schedule: Schedule.spaced("20 millis")
          })
        )
        yield* Effect.sleep("100 millis")
        assert.isNull(fiber.unsafePoll())
        emulator.advance(60 * 60 * 1000)
        const final = yield* Fiber.join(fiber)
        assert.strictEqual(final.status, running.steps[running.steps.length - 1]!.status)
        assert.isAbove(emulator.stats().requests.GetPipelineExecution!, 1)
      }),
    { timeout: 10_000 }
  )

  it.scopedLive("builds an ExecutionDocument from detail and summary fetched over the wire", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator({
        scenario: { seed: 13, pipelines: 1, executionsPerPipeline: 2, running: 0 }
      })
      const name = emulator.pipelines()[0]!.name
      const [summary] = Chunk.toReadonlyArray(
        yield* Stream.runCollect(service.listPipelineExecutions(pipelineName(name)))
      )
      const detail = yield* service.getPipelineExecution(pipelineName(name), executionId(summary!.pipelineExecutionId))
      const doc = yield* ExecutionDocument.make(detail, summary)
      assert.isDefined(doc.startTime)
      assert.isDefined(doc.lastUpdateTime)
      assert.strictEqual(
        ExecutionDocument.contentHash(doc),
        ExecutionDocument.contentHash(yield* ExecutionDocument.make(detail, summary))
      )
    })
  )
})

import { fromSdkError } from "../src/internal/sdkError.js"

const fromSdk = (operation: CodePipelineError.Operation, error: unknown) => fromSdkError({ operation }, error)
