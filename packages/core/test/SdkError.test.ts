import { assert, describe, it } from "@effect/vitest"
import { isRetryable } from "../src/CodePipelineError.js"
import { fromSdkError } from "../src/internal/sdkError.js"

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
