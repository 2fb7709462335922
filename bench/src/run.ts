import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { benchApprovals } from "./approvals.js"
import { benchBackfill } from "./backfill.js"
import { benchDecode } from "./decode.js"
import { fmt, log, only, quick, results, runs } from "./harness.js"
import { benchMemory } from "./memory.js"
import { benchReads } from "./reads.js"
import { benchRecord } from "./record.js"
import { benchStartup } from "./startup.js"
import { benchWatchTick } from "./watchTick.js"

// --- main ---------------------------------------------------------------------------------------

const main = async () => {
  log(`mode: ${quick ? "quick" : "full"}, ${runs} runs per measured figure`)
  const steps: Array<[string, () => Promise<void> | void]> = [
    ["1 decode", benchDecode],
    ["2-3 recordMany", benchRecord],
    ["4 backfill", benchBackfill],
    ["5 watch tick", benchWatchTick],
    ["6-7 reads", benchReads],
    ["8 memory", benchMemory],
    ["9 start-up", benchStartup],
    ["10 approvals", benchApprovals]
  ]
  for (const [name, step] of steps) {
    if (only !== undefined && !only.has(Number.parseInt(name, 10))) continue
    log(`running ${name}`)
    await step()
  }
  results.sort((a, b) => a.id - b.id)
  const table = [
    "| # | benchmark | result | baseline | ratio | target | holds |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...results.map(
      (r) =>
        `| ${r.id} | ${r.name} | ${r.value} | ${r.baseline} | ${r.ratio === undefined ? "—" : `${fmt(r.ratio, 2)}×`} | ${r.target} | ${r.holds === "skipped" ? "skipped" : r.holds ? "yes" : "**no**"} |`
    )
  ].join("\n")
  process.stdout.write(`${table}\n`)
  const dir = fileURLToPath(new URL("../results/", import.meta.url))
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, "latest.json"),
    `${JSON.stringify({ date: new Date().toISOString(), mode: quick ? "quick" : "full", node: process.version, results }, null, 2)}\n`
  )
  log(`wrote ${join(dir, "latest.json")}`)
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
