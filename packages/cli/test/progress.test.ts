import { assert, describe, it } from "@effect/vitest"
import { CodePipeline, Identifiers } from "@pipetrail/core"
import type { SnapshotJob } from "@pipetrail/store"
import { Effect, Metric } from "effect"
import * as Progress from "../src/internal/progress.js"

// The progress display: on a terminal one status line redrawn in place and cleared at the end,
// per-pipeline lines above it with that pipeline's counts; plain lines otherwise; nothing when off.

const sink = (isTTY: boolean) => {
  let text = ""
  const write = (s: string) => {
    text += s
  }
  return { isTTY, columns: 120, write, text: () => text }
}

const progress = (over: Partial<SnapshotJob.JobProgress> = {}): SnapshotJob.JobProgress => ({
  pipelines: 2,
  pipelinesDone: 0,
  pipelinesListed: 0,
  listed: 0,
  fetched: 0,
  stored: 0,
  failed: 0,
  ...over
})

describe("progress display", () => {
  it.live("on a terminal: a live status line, pipeline lines above it, cleared at the end", () =>
    Effect.gen(function* () {
      const out = sink(true)
      const display = yield* Progress.display("auto", false, out)
      yield* Metric.increment(CodePipeline.throttled)
      const job = Effect.gen(function* () {
        yield* display.onProgress(progress({ pipelinesListed: 1, listed: 40, fetched: 10, stored: 5 }))
        yield* Effect.sleep("450 millis")
        yield* display.onPipelineDone({
          pipelineName: Identifiers.PipelineName.make("alpha"),
          fetched: 10,
          newSnapshots: 5,
          unchanged: 0
        })
        yield* display.onProgress(
          progress({ pipelinesDone: 1, pipelinesListed: 2, listed: 60, fetched: 30, stored: 30 })
        )
        yield* Effect.sleep("450 millis")
        return "done"
      })
      assert.strictEqual(yield* display.around(job), "done")
      const text = out.text()
      assert.include(text, "0/2 pipelines · 40 listed · 10 fetched · 5 stored")
      assert.include(text, "1 throttled")
      assert.include(text, " · listing")
      assert.include(text, "\r\u001b[2Kalpha: 10 fetched, 5 new, 0 unchanged\n")
      assert.include(text, "1/2 pipelines · 60 listed · 30 fetched · 30 stored")
      // Every listing is done: an estimate of the time left.
      assert.match(text, /left/)
      // Cleared at the end: the last thing written erases the status line.
      assert.isTrue(text.endsWith("\r\u001b[2K"), JSON.stringify(text.slice(-80)))
    })
  )

  it.effect("not a terminal: only the per-pipeline lines; off: nothing; JSON logs: nothing unless asked", () =>
    Effect.gen(function* () {
      const done = { pipelineName: Identifiers.PipelineName.make("beta"), fetched: 3, newSnapshots: 1, unchanged: 2 }
      const cases: Array<[Progress.ProgressMode, boolean, string]> = [
        ["auto", false, "beta: 3 fetched, 1 new, 2 unchanged\n"],
        ["plain", false, "beta: 3 fetched, 1 new, 2 unchanged\n"],
        ["off", false, ""],
        ["auto", true, ""],
        ["plain", true, "beta: 3 fetched, 1 new, 2 unchanged\n"]
      ]
      for (const [mode, jsonLogs, expected] of cases) {
        const out = sink(false)
        const display = yield* Progress.display(mode, jsonLogs, out)
        yield* display.around(
          Effect.all([display.onProgress(progress({ listed: 3, fetched: 3 })), display.onPipelineDone(done)])
        )
        assert.strictEqual(out.text(), expected, `${mode} ${jsonLogs}`)
      }
    })
  )
})
