import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Emulator } from "@pipetrail/emulator"
import { fmt, freshDatabase, quick, results } from "./harness.js"

// --- 8. peak RSS of a backfill ------------------------------------------------------------------

const cli = fileURLToPath(new URL("../../packages/cli/dist/release/pipetrail.js", import.meta.url))

const peakRss = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let peak = 0
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString()
    })
    const poll = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8")
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status)
        if (hwm !== null) peak = Math.max(peak, Number(hwm[1]) * 1024)
      } catch {
        // the process has exited
      }
    }, 10)
    child.on("close", (code) => {
      clearInterval(poll)
      if (code === 0) resolve(peak)
      else reject(new Error(`pipetrail ${args.join(" ")} exited ${code}: ${stderr}`))
    })
  })

export const benchMemory = async () => {
  const sizes = quick ? [300, 1_500] : [1_000, 10_000]
  const peaks: Array<number> = []
  let baseline = 0
  for (const total of sizes) {
    const pipelines = Math.max(1, total / 100)
    const emulator = await Emulator.start({ scenario: { seed: 8, pipelines, executionsPerPipeline: 100, running: 0 } })
    const database = await freshDatabase()
    const env: Record<string, string> = {
      AWS_ACCESS_KEY_ID: "BENCH",
      AWS_SECRET_ACCESS_KEY: "bench",
      AWS_REGION: "us-east-1",
      PIPETRAIL_ENDPOINT_URL: emulator.url,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...(database === undefined
        ? { PIPETRAIL_DATA_DIR: join(mkdtempSync(join(tmpdir(), "pipetrail-bench-")), "store") }
        : { PIPETRAIL_DATABASE_URL: database.url })
    }
    try {
      baseline = Math.max(baseline, await peakRss(["db", "status"], env))
      peaks.push(
        await peakRss(
          ["snapshot", "--all-pipelines", "--source", "bench", "--rate", "2000", "--concurrency", "16"],
          env
        )
      )
    } finally {
      await emulator.close()
      await database?.drop()
    }
  }
  const mb = (n: number) => n / 1024 / 1024
  const above = peaks.map((p) => mb(p - baseline))
  results.push({
    id: 8,
    name: `peak RSS of a backfill (${sizes.map((s) => fmt(s)).join(" vs ")} executions)`,
    value: above.map((a, i) => `${fmt(sizes[i]!)}: +${fmt(a, 1)} MB`).join(", "),
    baseline: `process baseline (pipetrail db status) ${fmt(mb(baseline), 1)} MB`,
    target: "≤ 150 MB above baseline, flat as the count grows",
    holds: above.every((a) => a <= 150) && above[above.length - 1]! <= above[0]! * 1.5 + 10
  })
}
