import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Emulator } from "@pipetrail/emulator"
import { fmt, freshDatabase, log, median, quick, results, runs } from "./harness.js"

// --- 9. start-up: whole-process wall time and peak RSS of interactive commands --------------------

const cli = fileURLToPath(new URL("../../packages/cli/dist/release/pipetrail.js", import.meta.url))
/** Loaded into each measured Node process: writes its peak RSS (bytes) where it is told at exit. */
const rssReporter = fileURLToPath(new URL("./rssReporter.js", import.meta.url))
/** PGlite alone opening the same data directory and running the same query. */
const pgliteAlone = fileURLToPath(new URL("./pgliteAlone.js", import.meta.url))

interface Measured {
  readonly seconds: number
  /** Peak RSS in MB; undefined for a process that is not Node (psql). */
  readonly mb: number | undefined
}

/** Runs `command` once; wall time from spawn to exit, peak RSS as the process itself saw it. */
const once = (command: string, args: ReadonlyArray<string>, env: Record<string, string>, node: boolean) =>
  new Promise<Measured>((resolve, reject) => {
    const report = join(mkdtempSync(join(tmpdir(), "pipetrail-rss-")), "rss")
    const start = process.hrtime.bigint()
    const child = spawn(node ? process.execPath : command, node ? ["--import", rssReporter, command, ...args] : args, {
      env: { ...process.env, ...env, PIPETRAIL_BENCH_RSS_FILE: report },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString()
    })
    child.on("error", reject)
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      if (code !== 0) return reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${stderr}`))
      let mb: number | undefined
      if (node) mb = Number(readFileSync(report, "utf8")) / 1024 / 1024
      rmSync(join(report, ".."), { recursive: true, force: true })
      resolve({ seconds, mb })
    })
  })

/** The median wall time and peak RSS of `runs` runs, after one warm-up run (the page cache). */
const measure = async (command: string, args: ReadonlyArray<string>, env: Record<string, string>, node = true) => {
  await once(command, args, env, node)
  const all: Array<Measured> = []
  for (let i = 0; i < runs; i++) all.push(await once(command, args, env, node))
  const mbs = all.flatMap((m) => (m.mb === undefined ? [] : [m.mb]))
  return { seconds: median(all.map((m) => m.seconds)), mb: mbs.length === 0 ? undefined : median(mbs) }
}

const seconds = (s: number) => `${fmt(s, 2)} s`
const megabytes = (mb: number | undefined) => (mb === undefined ? "—" : `${fmt(mb)} MB`)

/**
 * Fills a store through the CLI itself: `snapshot` of an emulator's executions. The emulator keeps
 * running (a `watch` may use it); the caller closes it.
 */
const fill = async (env: Record<string, string>) => {
  const pipelines = quick ? 3 : 10
  const emulator = await Emulator.start({ scenario: { seed: 9, pipelines, executionsPerPipeline: 20, running: 2 } })
  await once(
    cli,
    ["snapshot", "--all-pipelines", "--source", "bench", "--rate", "2000"],
    { ...env, PIPETRAIL_ENDPOINT_URL: emulator.url },
    true
  ).catch(async (error: unknown) => {
    await emulator.close()
    throw error
  })
  return { id: emulator.executions()[0]!.pipelineExecutionId, emulator }
}

const query =
  "select pipeline_name, pipeline_execution_id, status, start_time from latest_execution order by start_time desc limit 50"

export const benchStartup = async () => {
  const base: Record<string, string> = {
    AWS_ACCESS_KEY_ID: "BENCH",
    AWS_SECRET_ACCESS_KEY: "bench",
    AWS_REGION: "us-east-1",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true"
  }
  const fast = { seconds: 0.15, mb: 60 }
  for (const args of [["--version"], ["--help"]]) {
    const m = await measure(cli, args, base)
    results.push({
      id: 9,
      name: `start-up: \`pipetrail ${args.join(" ")}\``,
      value: `${seconds(m.seconds)}, ${megabytes(m.mb)}`,
      baseline: "—",
      target: `≤ ${fast.seconds} s, ≤ ${fast.mb} MB`,
      holds: m.seconds <= fast.seconds && (m.mb ?? 0) <= fast.mb
    })
  }

  const database = await freshDatabase()
  if (database === undefined) {
    results.push({ id: 9, name: "start-up on PostgreSQL", value: "—", baseline: "—", target: "—", holds: "skipped" })
  } else {
    try {
      const env = { ...base, PIPETRAIL_DATABASE_URL: database.url }
      const { id, emulator } = await fill(env)
      await emulator.close()
      const psql = await measure("psql", [database.url, "-X", "-q", "-c", query], {}, false).catch((error: unknown) => {
        log(`psql could not run (${String(error)}): the PostgreSQL start-up rows have no baseline`)
        return undefined
      })
      for (const args of [["executions"], ["history", id], ["sql", query]]) {
        const m = await measure(cli, args, env)
        const ratio = psql === undefined ? undefined : m.seconds / psql.seconds
        results.push({
          id: 9,
          name: `start-up on PostgreSQL: \`pipetrail ${args[0]}\``,
          value: `${seconds(m.seconds)}, ${megabytes(m.mb)}`,
          baseline:
            psql === undefined ? "psql missing" : `\`psql -c\` of a latest_execution query ${seconds(psql.seconds)}`,
          ...(ratio === undefined ? {} : { ratio }),
          target: "≤ 0.3 s (≤ 10× psql), ≤ 80 MB",
          holds: m.seconds <= 0.3 && (ratio === undefined || ratio <= 10) && (m.mb ?? 0) <= 80
        })
      }
    } finally {
      await database.drop()
    }
  }

  const dir = mkdtempSync(join(tmpdir(), "pipetrail-bench-startup-"))
  try {
    const dataDir = join(dir, "store")
    const env = { ...base, PIPETRAIL_DATA_DIR: dataDir }
    const { emulator } = await fill(env)
    const alone = await measure(pgliteAlone, [dataDir, query], {})
    const m = await measure(cli, ["executions"], env)
    // Another process holds the store (a `watch` between ticks) and serves it: no PGlite here.
    const holder = spawn(
      process.execPath,
      [cli, "watch", "--all-pipelines", "--source", "bench", "--every", "1h", "--quiet"],
      { env: { ...process.env, ...env, PIPETRAIL_ENDPOINT_URL: emulator.url }, stdio: ["ignore", "pipe", "ignore"] }
    )
    let served: Measured
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.once("data", () => resolve())
        holder.once("exit", (code) => reject(new Error(`the holding watch exited ${code}`)))
      })
      served = await measure(cli, ["executions"], env)
    } finally {
      holder.kill("SIGTERM")
      await new Promise((resolve) => holder.once("close", resolve))
      await emulator.close()
    }
    results.push({
      id: 9,
      name: "start-up on the embedded store: `pipetrail executions`",
      value: `${seconds(m.seconds)}, ${megabytes(m.mb)}; PGlite alone ${seconds(alone.seconds)}, ${megabytes(alone.mb)}, so pipetrail adds ${seconds(m.seconds - alone.seconds)}`,
      baseline: "PGlite alone, as the store runs it: open the data directory, run the query, close",
      target: "≤ 0.8 s, ≤ 200 MB",
      holds: m.seconds <= 0.8 && (m.mb ?? 0) <= 200
    })
    results.push({
      id: 9,
      name: "start-up on the embedded store held by another process (a `watch`): `pipetrail executions`",
      value: `${seconds(served.seconds)}, ${megabytes(served.mb)}`,
      baseline: "—",
      target: "≤ 0.8 s, ≤ 200 MB",
      holds: served.seconds <= 0.8 && (served.mb ?? 0) <= 200
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
