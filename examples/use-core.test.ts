import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Emulator } from "@pipetrail/emulator"
import { Chunk, Effect, Redacted } from "effect"
import { main } from "./use-core.js"

describe("README example: use core in your Effect app", () => {
  it("is the code the README shows", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const example = readFileSync(new URL("./use-core.ts", import.meta.url), "utf8")
    assert.include(readme, example.trim())
  })

  it.scopedLive("runs against the emulator with the real SDK", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.scoped({ scenario: { seed: 8, pipelines: 1, executionsPerPipeline: 9 } })
      const name = emulator.pipelines()[0]!.name
      const executions = yield* main(name, {
        endpoint: emulator.url,
        region: "us-east-1",
        credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: Redacted.make("secret") }
      })
      assert.strictEqual(Chunk.size(executions), 5)
      const newest = [...emulator.executions()].sort((a, b) => b.startTime - a.startTime)[0]!
      assert.strictEqual(Chunk.unsafeGet(executions, 0).pipelineExecutionId, newest.pipelineExecutionId)
      assert.strictEqual(Chunk.unsafeGet(executions, 0).startTime?.getTime(), newest.startTime)
    })
  )
})

describe("README example: use the store from an Effect app", () => {
  it("is the code the README shows (and type-checks with the tests)", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const example = readFileSync(new URL("./use-store.ts", import.meta.url), "utf8")
    assert.include(readme, example.trim())
  })
})
