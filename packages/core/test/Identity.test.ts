import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import type { CodePipelineClient as SdkClient } from "@aws-sdk/client-codepipeline"
import { assert, describe, it } from "@effect/vitest"
import {
  CodePipeline,
  type CodePipelineError,
  ExecutionDocument,
  PipelineExecution,
  PipelineExecutionSummary
} from "@pipetrail/core"
import { Context, Effect, Either, Exit, FastCheck as fc, Layer, Schema, Stream } from "effect"
import { credentials, executionId, pipelineName } from "./utils.js"

// Invariant: a GetPipelineExecution answer becomes an execution only if it is about the execution
// asked for (same id; same pipeline name, or none, then taken from the request); anything else is a
// ResponseMismatchError carrying the response. A detail and a summary of two executions never merge.

const asked = { pipelineName: "payments-api", pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4" }

const body = (execution: Record<string, unknown>) =>
  JSON.stringify({ pipelineExecution: { pipelineVersion: 3, status: "Succeeded", ...execution } })

/** A raw HTTP endpoint (not the emulator) answering every request with status 200 and `answer()`. */
const endpoint = (answer: () => { readonly body: string; readonly type?: string }) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<Server>((resolve) => {
          const server = createServer((req, res) => {
            req.resume()
            req.on("end", () => {
              const { body, type } = answer()
              res.writeHead(200, { "content-type": type ?? "application/x-amz-json-1.1", "x-amzn-requestid": "req-1" })
              res.end(Buffer.from(body, "utf8"))
            })
          })
          server.listen(0, "127.0.0.1", () => resolve(server))
        })
    ),
    (server) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

const serviceAt = (server: Server) =>
  Effect.map(
    Layer.build(
      CodePipeline.layer({
        region: "us-east-1",
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        credentials,
        maxAttempts: 1
      })
    ),
    (context) => Context.get(context, CodePipeline.CodePipeline)
  )

describe("response identity over the real SDK", () => {
  it.scopedLive("refuses an answer about another execution or pipeline, and fills a missing pipeline name", () =>
    Effect.gen(function* () {
      let answer = ""
      const service = yield* serviceAt(yield* endpoint(() => ({ body: answer })))
      const get = service.getPipelineExecution(pipelineName(asked.pipelineName), executionId(asked.pipelineExecutionId))

      answer = body({ pipelineName: asked.pipelineName, pipelineExecutionId: "0e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b" })
      const otherExecution = yield* Effect.flip(get)
      assert.strictEqual(otherExecution._tag, "ResponseMismatchError")
      if (otherExecution._tag !== "ResponseMismatchError") return
      assert.strictEqual(otherExecution.pipelineExecutionId, asked.pipelineExecutionId)
      assert.strictEqual(otherExecution.receivedPipelineExecutionId, "0e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b")
      assert.match(
        otherExecution.message,
        /asked for payments-api\/3137f7cb-.*, the response is about payments-api\/0e2f3a4b-/
      )
      assert.isDefined((otherExecution.payload as { pipelineExecution?: unknown }).pipelineExecution)

      answer = body({ pipelineName: "billing-api", pipelineExecutionId: asked.pipelineExecutionId })
      const otherPipeline = yield* Effect.flip(get)
      assert.strictEqual(otherPipeline._tag, "ResponseMismatchError")

      answer = body({ pipelineExecutionId: asked.pipelineExecutionId })
      const filled = yield* get
      assert.strictEqual<string>(filled.pipelineName, asked.pipelineName)
    })
  )
})

// Invariant: whatever a 200 answer holds, a call that does not give an execution fails with the
// exact bytes that arrived (plus status, request id, content type); and an execution keeps every
// member the service sent, including ones the installed SDK does not know.

const detail = (extra: Record<string, unknown> = {}) => ({
  pipelineName: asked.pipelineName,
  pipelineExecutionId: asked.pipelineExecutionId,
  pipelineVersion: 3,
  status: "Succeeded",
  artifactRevisions: [{ name: "SourceArtifact", revisionId: "abc", created: 1748736000 }],
  trigger: { triggerType: "Webhook", triggerDetail: "x" },
  ...extra
})

describe("raw responses over the real SDK", () => {
  const shapes: Array<[string, string, string]> = [
    [
      "a timestamp sent as a string (the SDK's deserializer throws)",
      JSON.stringify({
        pipelineExecution: detail({ artifactRevisions: [{ name: "A", created: "2026-06-01T00:00:00Z" }] })
      }),
      "application/x-amz-json-1.1"
    ],
    [
      "a truncated body",
      `{"pipelineExecution": {"pipelineName": "payments-api", "pipelineExecu`,
      "application/x-amz-json-1.1"
    ],
    ["a proxy's HTML page with status 200", "<html><body><h1>Bad gateway</h1>\u00e9\r\n</body></html>", "text/html"],
    ["a body that is not JSON", "OK\u0000\u00ff", "text/plain"],
    [
      "a status of the wrong type",
      JSON.stringify({ pipelineExecution: detail({ status: 42 }) }),
      "application/x-amz-json-1.1"
    ],
    [
      "an answer about another execution",
      JSON.stringify({ pipelineExecution: detail({ pipelineExecutionId: "0e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b" }) }),
      "application/x-amz-json-1.1"
    ]
  ]

  it.scopedLive("every shape fails with the bytes that arrived, byte for byte", () =>
    Effect.gen(function* () {
      let answer = { body: "", type: "" }
      const service = yield* serviceAt(yield* endpoint(() => answer))
      for (const [what, body, type] of shapes) {
        answer = { body, type }
        const error = yield* Effect.flip(
          service.getPipelineExecution(pipelineName(asked.pipelineName), executionId(asked.pipelineExecutionId))
        )
        assert.include(["ResponseDecodeError", "ResponseMismatchError"], error._tag, what)
        if (error._tag !== "ResponseDecodeError" && error._tag !== "ResponseMismatchError") continue
        assert.isDefined(error.response, what)
        assert.deepStrictEqual(Buffer.from(error.response!.body), Buffer.from(body, "utf8"), what)
        assert.strictEqual(error.response!.status, 200, what)
        assert.strictEqual(error.response!.requestId, "req-1", what)
        assert.strictEqual(error.response!.contentType, type, what)
      }

      // Members the SDK's model does not know survive, at the top and nested.
      answer = {
        body: JSON.stringify({
          pipelineExecution: detail({
            newTopLevel: { shipped: "2027" },
            artifactRevisions: [{ name: "SourceArtifact", revisionId: "abc", created: 1748736000, newInRevision: 7 }],
            trigger: { triggerType: "Webhook", triggerDetail: "x", newInTrigger: true }
          })
        }),
        type: "application/x-amz-json-1.1"
      }
      const execution = yield* service.getPipelineExecution(
        pipelineName(asked.pipelineName),
        executionId(asked.pipelineExecutionId)
      )
      const encoded = ExecutionDocument.encode(yield* ExecutionDocument.make(execution)) as Record<string, any>
      assert.deepStrictEqual(encoded.newTopLevel, { shipped: "2027" })
      assert.strictEqual(encoded.artifactRevisions[0].newInRevision, 7)
      assert.strictEqual(encoded.trigger.newInTrigger, true)
      assert.strictEqual(encoded.artifactRevisions[0].created, "2025-06-01T00:00:00.000Z")
    })
  )
})

/** An SDK client whose every `send` resolves with `output`: the service's logic without HTTP. */
const answering = (output: () => unknown) =>
  Layer.succeed(CodePipeline.CodePipelineClient, { send: async () => output() } as unknown as SdkClient)

describe("response identity, as a property", () => {
  const uuid = fc.uuid().map((u) => u.toLowerCase())
  const name = fc.stringMatching(/^[A-Za-z0-9.@_-]{1,100}$/)

  it("an answer becomes an execution exactly when its id and pipeline name are the ones asked for", async () => {
    await fc.assert(
      fc.asyncProperty(
        name,
        uuid,
        fc.option(name, { nil: undefined }),
        fc.option(uuid, { nil: undefined }),
        async (askedName, askedId, bodyName, bodyId) => {
          const pipelineExecutionId = bodyId ?? askedId
          const execution = {
            ...(bodyName === undefined ? {} : { pipelineName: bodyName }),
            pipelineExecutionId,
            pipelineVersion: 1,
            status: "InProgress"
          }
          const exit = await Effect.runPromiseExit(
            Effect.flatMap(CodePipeline.make({ maxAttempts: 1, requestsPerSecond: 1000 }), (service) =>
              service.getPipelineExecution(pipelineName(askedName), executionId(askedId))
            ).pipe(Effect.provide(answering(() => ({ pipelineExecution: execution }))))
          )
          const same = pipelineExecutionId === askedId && (bodyName === undefined || bodyName === askedName)
          if (same) {
            assert.isTrue(Exit.isSuccess(exit), JSON.stringify(exit))
            if (Exit.isSuccess(exit)) {
              assert.strictEqual<string>(exit.value.pipelineExecutionId, askedId)
              assert.strictEqual<string>(exit.value.pipelineName, askedName)
            }
          } else {
            assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail")
            if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
              assert.strictEqual(exit.cause.error._tag, "ResponseMismatchError")
            }
          }
        }
      ),
      { numRuns: 200 }
    )
  })

  it("a detail and a summary merge only when they are about the same execution", () => {
    const decodeDetail = Schema.decodeUnknownSync(PipelineExecution.PipelineExecution)
    const decodeSummary = Schema.decodeUnknownSync(PipelineExecutionSummary.PipelineExecutionSummary)
    fc.assert(
      fc.property(uuid, uuid, fc.boolean(), (detailId, otherId, same) => {
        const summaryId = same ? detailId : otherId
        const detail = decodeDetail({
          pipelineName: "p",
          pipelineExecutionId: detailId,
          pipelineVersion: 1,
          status: "Succeeded"
        })
        const summary = decodeSummary({ pipelineExecutionId: summaryId, status: "Succeeded", startTime: 0 })
        const merged = ExecutionDocument.make(detail, summary)
        assert.strictEqual(Either.isRight(merged), detailId === summaryId)
        if (Either.isLeft(merged)) assert.strictEqual(merged.left._tag, "MergeMismatchError")
      }),
      { numRuns: 200 }
    )
  })
})

// Invariant: a list page is read only as what it says. A body without its list, with a token that
// is not one, or with a token the listing was already given, fails with the bytes that arrived:
// never an empty page or a listing cut short (or one that never ends). A member named `__proto__`,
// which no shape has and which decoding would turn into a prototype, is refused with its bytes.
describe("list pages that are not what they say", () => {
  const id = "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4"
  const action = {
    pipelineExecutionId: id,
    actionExecutionId: "a1",
    stageName: "Build",
    actionName: "Build",
    status: "Succeeded"
  }
  const operations = {
    ListActionExecutions: {
      member: "actionExecutionDetails",
      item: action,
      run: (service: CodePipeline.CodePipelineService): Stream.Stream<unknown, { readonly _tag: string }> =>
        service.listActionExecutions(pipelineName(asked.pipelineName), { pipelineExecutionId: executionId(id) })
    },
    ListPipelineExecutions: {
      member: "pipelineExecutionSummaries",
      item: { pipelineExecutionId: id, status: "Succeeded" },
      run: (service: CodePipeline.CodePipelineService): Stream.Stream<unknown, { readonly _tag: string }> =>
        service.listPipelineExecutions(pipelineName(asked.pipelineName))
    },
    ListPipelines: {
      member: "pipelines",
      item: { name: "payments-api" },
      run: (service: CodePipeline.CodePipelineService): Stream.Stream<unknown, { readonly _tag: string }> =>
        service.listPipelines()
    }
  } as const
  const broken = (member: string, item: object) =>
    fc.oneof(
      fc.constant("null"),
      fc.constant("[]"),
      fc.constant("{}"),
      fc.constant(JSON.stringify({ [member]: { 0: item } })),
      fc.constant(JSON.stringify({ [member]: "none" })),
      fc.constantFrom("", 7, "x".repeat(2049), {}).map((nextToken) => JSON.stringify({ [member]: [item], nextToken }))
    )

  it.scopedLive(
    "a page without its list or with a bad token fails with its bytes (property over operations and bodies)",
    () =>
      Effect.gen(function* () {
        let answer = ""
        const service = yield* serviceAt(yield* endpoint(() => ({ body: answer })))
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(
              fc
                .constantFrom(...(Object.keys(operations) as Array<keyof typeof operations>))
                .chain((operation) =>
                  fc.tuple(fc.constant(operation), broken(operations[operation].member, operations[operation].item))
                ),
              ([operation, served]) =>
                Effect.runPromise(
                  Effect.gen(function* () {
                    answer = served
                    const error = yield* Effect.flip(Stream.runCollect(operations[operation].run(service)))
                    assert.strictEqual(error._tag, "ResponseDecodeError", `${operation}: ${served}`)
                    const kept = (error as CodePipelineError.ResponseDecodeError).response
                    assert.strictEqual(new TextDecoder().decode(kept!.body), served)
                  })
                )
            ),
            { numRuns: 40 }
          )
        )
      })
  )

  it.scopedLive("the malformed items of one page share the page's bytes (kept once by a job)", () =>
    Effect.gen(function* () {
      const service = yield* serviceAt(
        yield* endpoint(() => ({ body: JSON.stringify({ actionExecutionDetails: [{ n: 1 }, action, { n: 2 }] }) }))
      )
      const errors: Array<CodePipelineError.ResponseDecodeError> = []
      const listed = yield* Stream.runCollect(
        service.listActionExecutions(pipelineName(asked.pipelineName), {
          pipelineExecutionId: executionId(id),
          onMalformed: (error) => Effect.sync(() => errors.push(error))
        })
      )
      assert.strictEqual(listed.length, 1)
      assert.deepStrictEqual(
        errors.map((e) => e.payload),
        [{ n: 1 }, { n: 2 }]
      )
      assert.strictEqual(errors[0]!.response!.body, errors[1]!.response!.body)
    })
  )

  it.scopedLive("a token the listing was already given ends it with an error, not a loop", () =>
    Effect.gen(function* () {
      let served = 0
      const service = yield* serviceAt(
        yield* endpoint(() => {
          served++
          return { body: JSON.stringify({ actionExecutionDetails: [action], nextToken: "same" }) }
        })
      )
      const error = yield* Effect.flip(Stream.runCollect(operations.ListActionExecutions.run(service)))
      assert.strictEqual(error._tag, "ResponseDecodeError")
      assert.include((error as CodePipelineError.ResponseDecodeError).issue, "repeats a nextToken")
      assert.strictEqual(served, 2)
    })
  )

  it.scopedLive("a __proto__ member is refused with its bytes, wherever it is: never a prototype, never dropped", () =>
    Effect.gen(function* () {
      let answer = ""
      const service = yield* serviceAt(yield* endpoint(() => ({ body: answer })))
      const forged = `{"actionExecutionDetails":[{"pipelineExecutionId":"${id}","actionExecutionId":"a1","stageName":"Build","actionName":"Compile","status":"Succeeded","__proto__":{"updatedBy":"arn:aws:iam::1:user/ceo","input":{"actionTypeId":{"category":"Approval","owner":"AWS","provider":"Manual","version":"1"}}}}]}`
      answer = forged
      const kept: Array<string> = []
      const listed = yield* Stream.runCollect(
        service.listActionExecutions(pipelineName(asked.pipelineName), {
          pipelineExecutionId: executionId(id),
          onMalformed: (error) =>
            Effect.sync(() => {
              kept.push(new TextDecoder().decode(error.response!.body))
              assert.include(error.issue, "__proto__")
            })
        })
      )
      assert.strictEqual(listed.length, 0)
      assert.deepStrictEqual(kept, [forged])
      answer = body({ ...asked, trigger: JSON.parse('{"__proto__":{"triggerType":"ManualRollback"}}') })
      answer = answer.replace('"trigger":{}', '"trigger":{"__proto__":{"triggerType":"ManualRollback"}}')
      assert.include(answer, "__proto__")
      const error = yield* Effect.flip(
        service.getPipelineExecution(pipelineName(asked.pipelineName), executionId(asked.pipelineExecutionId))
      )
      assert.strictEqual(error._tag, "ResponseDecodeError")
    })
  )
})
