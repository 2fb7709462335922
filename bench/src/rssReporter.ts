import { readFileSync, writeFileSync } from "node:fs"

// Preloaded (`node --import`) into a process the start-up benchmark measures: at exit it writes
// the process's peak resident set size, in bytes, to the file the benchmark named. It reads
// VmHWM, which belongs to this program's memory; `resourceUsage().maxRSS` would not do: Linux keeps
// that figure across exec, so a child spawned by a large parent reports the parent's size.
const file = process.env.PIPETRAIL_BENCH_RSS_FILE
if (file !== undefined) {
  process.on("exit", () => {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))
    writeFileSync(file, hwm === null ? "NaN" : String(Number(hwm[1]) * 1024))
  })
}
