import { assert, describe, it } from "@effect/vitest"
import { Cause, type Effect, FastCheck as fc, type Stream } from "effect"
import type { CodePipelineService } from "../src/CodePipeline.js"
import type { Operation } from "../src/CodePipelineError.js"
import { isRetryable } from "../src/CodePipelineError.js"
import { fromSdkError, fromSdkErrorOf } from "../src/internal/sdkError.js"
import model from "./fixtures/model-identifiers.json" with { type: "json" }

const operations: ReadonlyArray<Operation> = [
  "GetPipelineExecution",
  "ListPipelineExecutions",
  "ListPipelines",
  "ListActionExecutions"
]

// A configuration the SDK refuses before sending anything is the caller's to fix: a typed input
// error, never retried (retrying a missing region took ten attempts and half a minute).

describe("SDK errors", () => {
  it("a missing region is an input error, not a network error to retry", () => {
    const error = fromSdkError({ operation: "ListPipelines" }, new Error("Region is missing"))
    assert.strictEqual(error._tag, "InvalidInputError")
    assert.isFalse(isRetryable(error))
    assert.include(error.message, "region")
  })

  it("an unexplained error without a status is still a network error", () => {
    const error = fromSdkError({ operation: "ListPipelines" }, new Error("socket hang up"))
    assert.strictEqual(error._tag, "NetworkError")
    assert.isTrue(isRetryable(error))
  })
})

// Invariant: every error made from an SDK error (but the input error the caller fixes) keeps it as
// its cause, name, message and code intact, so Cause.pretty can show the SDK's own words; and the
// response body the SDK may carry is not copied into it.
describe("SDK errors keep the SDK's error as their cause", () => {
  const names = [
    "PipelineNotFoundException",
    "PipelineExecutionNotFoundException",
    "ValidationException",
    "InvalidNextTokenException",
    "ThrottlingException",
    "AccessDeniedException",
    "ExpiredTokenException",
    "InternalFailure",
    "ECONNRESET",
    "TimeoutError",
    "Error",
    "SomethingNew"
  ]
  it("for any name, message, code and status", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.option(fc.constantFrom("ECONNREFUSED", "EPIPE", "Throttling"), { nil: undefined }),
        fc.option(fc.constantFrom(400, 403, 429, 500, 503), { nil: undefined }),
        (name, message, code, status) => {
          const sdk = Object.assign(new Error(message), {
            name,
            ...(code === undefined ? {} : { code }),
            $fault: status !== undefined && status >= 500 ? "server" : "client",
            $metadata: { ...(status === undefined ? {} : { httpStatusCode: status }), requestId: "req-1" },
            $response: { statusCode: status, body: "secret body that must not be copied" }
          })
          const error = fromSdkError({ operation: "GetPipelineExecution" }, sdk)
          if (error._tag === "InvalidInputError") return
          const cause = (error as { readonly cause?: unknown }).cause
          assert.instanceOf(cause, Error, error._tag)
          assert.strictEqual((cause as Error).name, name)
          assert.strictEqual((cause as Error).message, message)
          assert.strictEqual((cause as Error & { code?: string }).code, code)
          assert.notInclude(JSON.stringify(cause) + String((cause as Error).stack), "secret body")
          const pretty = Cause.pretty(Cause.fail(error), { renderErrorCause: true })
          assert.include(pretty, `[cause]: ${name}: ${message.split("\n")[0]}`)
        }
      ),
      { numRuns: 200 }
    )
  })
})

// Invariant: each operation fails only with the errors it can produce: the API model's exceptions
// for that operation, the common ones, and nothing else; an exception the model does not list for
// it (a faulty endpoint) arrives as a service fault that names it.
describe("each operation's own errors", () => {
  // Each operation's own exceptions, as the API model lists them (validation is common to all).
  const own = Object.fromEntries(
    operations.map((operation) => [
      operation,
      (model.operations[operation].errors as ReadonlyArray<{ shape: string }>)
        .map((e) => e.shape.replace(/Exception$/, "Error"))
        .filter((tag) => tag !== "ValidationError")
    ])
  ) as unknown as Record<Operation, ReadonlyArray<string>>
  const common = [
    "ValidationError",
    "ThrottledError",
    "AccessDeniedError",
    "ServiceFaultError",
    "NetworkError",
    "ResponseDecodeError",
    "InvalidInputError"
  ]
  const exceptions = [
    "PipelineNotFoundException",
    "PipelineExecutionNotFoundException",
    "InvalidNextTokenException",
    "ValidationException",
    "ThrottlingException",
    "AccessDeniedException",
    "InternalFailure",
    "ECONNRESET"
  ]

  it("for any operation and any exception", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Operation>(...operations),
        fc.constantFrom(...exceptions),
        fc.string({ maxLength: 20 }),
        (operation, name, message) => {
          const error = fromSdkErrorOf({ operation }, Object.assign(new Error(message || "x"), { name }))
          const allowed: ReadonlyArray<string> = [...own[operation], ...common]
          assert.include(allowed, error._tag, `${operation} / ${name}`)
          const plain = fromSdkError({ operation }, Object.assign(new Error(message || "x"), { name }))
          if (allowed.includes(plain._tag)) assert.strictEqual(error._tag, plain._tag)
          else {
            assert.strictEqual(error._tag, "ServiceFaultError")
            assert.include(error.message, "does not return")
          }
        }
      ),
      { numRuns: 200 }
    )
  })

  it("and the types say so", () => {
    type ErrorOfEffect<F> = F extends (...args: never) => Effect.Effect<unknown, infer E> ? E : never
    type ErrorOfStream<F> = F extends (...args: never) => Stream.Stream<unknown, infer E> ? E : never
    type Get = ErrorOfEffect<CodePipelineService["getPipelineExecution"]>
    type ListPipelines = ErrorOfStream<CodePipelineService["listPipelines"]>
    // Compile-time checks: a page token error cannot come from a single get, nor a missing
    // pipeline or execution from listing the pipelines.
    const getCannotPage: Extract<Get, { readonly _tag: "InvalidNextTokenError" }> extends never ? true : false = true
    const listHasNoPipeline: Extract<ListPipelines, { readonly _tag: "PipelineNotFoundError" }> extends never
      ? true
      : false = true
    assert.isTrue(getCannotPage && listHasNoPipeline)
  })
})
