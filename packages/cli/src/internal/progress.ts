import { CodePipeline } from "@pipetrail/core"
import { SnapshotJob } from "@pipetrail/store"
import { Effect, Metric, Schedule } from "effect"
import { cut, safe } from "../Output.js"

/** `--progress`: a live display on a terminal (`auto`), plain lines, or nothing. */
export type ProgressMode = "auto" | "plain" | "off"

/** Where a display writes: stderr, or a test's own sink. */
export interface Sink {
  readonly isTTY: boolean
  /** The terminal's width, if known. */
  readonly columns?: number
  readonly write: (text: string) => void
}

const stderr: Sink = {
  get isTTY() {
    return process.stderr.isTTY === true
  },
  get columns() {
    return process.stderr.columns
  },
  write: (text) => void process.stderr.write(text)
}

/** How many seconds of fetches the current rate is measured over. */
const rateWindow = 5

/**
 * The progress of a job, shown as it goes. On a terminal (`auto`) one status line is redrawn in
 * place: pipelines done/total, executions listed/fetched/stored, the current rate, throttled
 * requests and, once every listing is done, an estimate of the time left; pipelines that finish
 * print their own counts above it, and the line is cleared at the end. `plain` prints only those
 * per-pipeline lines (the default when stderr is not a terminal, unless logs are JSON: then the
 * same counts are in the info logs); `off` prints nothing.
 */
export const display = (mode: ProgressMode, jsonLogs: boolean, sink: Sink = stderr) =>
  Effect.map(Metric.value(CodePipeline.throttled), (atStart) => make(mode, jsonLogs, sink, atStart.count))

const make = (mode: ProgressMode, jsonLogs: boolean, sink: Sink, throttledAtStart: number) => {
  const live = mode === "auto" && sink.isTTY
  const plain = mode === "plain" || (mode === "auto" && !sink.isTTY && !jsonLogs)
  let latest: SnapshotJob.JobProgress | undefined
  let shown = false
  const samples: Array<{ readonly at: number; readonly fetched: number }> = []

  const clear = () => {
    if (shown) sink.write("\r\u001b[2K")
    shown = false
  }

  const statusLine = (p: SnapshotJob.JobProgress, throttled: number, now: number): string => {
    samples.push({ at: now, fetched: p.fetched })
    while (samples.length > 1 && now - samples[0]!.at > rateWindow * 1000) samples.shift()
    const first = samples[0]!
    const seconds = (now - first.at) / 1000
    const rate = seconds > 0 ? (p.fetched - first.fetched) / seconds : 0
    const listingDone = p.pipelines > 0 && p.pipelinesListed === p.pipelines
    const left = p.listed - p.fetched - p.failed
    const eta =
      listingDone && rate > 0 && left > 0
        ? ` · ~${formatSeconds(left / rate)} left`
        : listingDone && left <= 0
          ? ""
          : " · listing"
    return `${p.pipelinesDone}/${p.pipelines || "?"} pipelines · ${p.listed} listed · ${p.fetched} fetched · ${p.stored} stored${p.failed > 0 ? ` · ${p.failed} failed` : ""} · ${rate.toFixed(1)}/s · ${throttled} throttled${eta}`
  }

  const draw = Effect.gen(function* () {
    if (!live || latest === undefined) return
    // A finished run (a watch between its ticks) shows no line.
    if (latest.pipelines > 0 && latest.pipelinesDone === latest.pipelines) return clear()
    const throttled = (yield* Metric.value(CodePipeline.throttled)).count - throttledAtStart
    const now = Date.now()
    const line = safe(statusLine(latest, throttled, now))
    // A pseudo-terminal without a size reports 0 columns.
    const columns = sink.columns !== undefined && sink.columns >= 20 ? sink.columns : 80
    sink.write(`\r\u001b[2K${cut(line, columns - 1)}`)
    shown = true
  })

  return {
    onProgress: (progress: SnapshotJob.JobProgress): Effect.Effect<void> =>
      Effect.sync(() => {
        // A watch's next run counts from zero again: its rate starts afresh.
        if (latest !== undefined && progress.fetched < latest.fetched) samples.length = 0
        latest = progress
      }),
    onPipelineDone: (done: SnapshotJob.PipelineDone): Effect.Effect<void> =>
      live || plain
        ? Effect.sync(() => {
            clear()
            sink.write(`${safe(SnapshotJob.describePipelineDone(done))}\n`)
          }).pipe(Effect.zipRight(draw))
        : Effect.void,
    /** Runs `job` with the status line redrawn every 200 ms (on a terminal), cleared at the end. */
    around: <A, E, R>(job: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      live
        ? Effect.raceFirst(
            job,
            Effect.repeat(draw, Schedule.spaced("200 millis")).pipe(Effect.zipRight(Effect.never))
          ).pipe(Effect.ensuring(Effect.sync(clear)))
        : job
  }
}

const formatSeconds = (s: number): string =>
  s < 90 ? `${Math.ceil(s)} s` : s < 5400 ? `${Math.ceil(s / 60)} min` : `${(s / 3600).toFixed(1)} h`
