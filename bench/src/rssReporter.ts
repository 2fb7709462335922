import { writeFileSync } from "node:fs"

// Preloaded (`node --import`) into a process the start-up benchmark measures: at exit it writes
// the process's peak resident set size, in bytes, to the file the benchmark named.
const file = process.env.PIPETRAIL_BENCH_RSS_FILE
if (file !== undefined) {
  process.on("exit", () => {
    writeFileSync(file, String(process.resourceUsage().maxRSS * 1024))
  })
}
