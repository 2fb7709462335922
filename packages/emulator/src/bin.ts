#!/usr/bin/env node
import { parseArgs } from "node:util"
import { start } from "./Emulator.js"

const usage = `pipetrail-emulator: a local AWS CodePipeline endpoint (awsJson1_1)

Options:
  --port N               port to bind (default 4599; 0 for any free port)
  --host ADDR            address to bind (default 127.0.0.1)
  --seed N               scenario seed (default 1)
  --pipelines N          generated pipelines (default 3)
  --executions N         executions per pipeline (default 12)
  --speed X              virtual ms per real ms (default 1; 0 freezes the clock)
  --throttle-rate R      token bucket: R requests per second
  --error-rate P         fraction of requests answered 5xx (0–1)
  --latency MS           added latency per request
  --malformed-rate P     fraction of GetPipelineExecution answers returned malformed (0–1)
  --help                 this text`

/** A number option as given; whether it is in range is the emulator's to say (`optionsProblem`). */
const number = (name: string, value: string | undefined, fallback?: number): number | undefined => {
  if (value === undefined) return fallback
  const n = Number(value)
  if (value.trim() === "" || Number.isNaN(n)) {
    process.stderr.write(`pipetrail-emulator: --${name} must be a number, got ${JSON.stringify(value)}\n`)
    process.exit(2)
  }
  return n
}

let parsed: ReturnType<typeof parseArgs>
try {
  parsed = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      seed: { type: "string" },
      pipelines: { type: "string" },
      executions: { type: "string" },
      speed: { type: "string" },
      "throttle-rate": { type: "string" },
      "error-rate": { type: "string" },
      latency: { type: "string" },
      "malformed-rate": { type: "string" },
      help: { type: "boolean" }
    },
    strict: true
  })
} catch (error) {
  process.stderr.write(`pipetrail-emulator: ${(error as Error).message}\n${usage}\n`)
  process.exit(2)
}
const v = parsed.values as Record<string, string | boolean | undefined>
if (v.help === true) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}
const str = (key: string) => (typeof v[key] === "string" ? (v[key] as string) : undefined)
const throttle = number("throttle-rate", str("throttle-rate"))
const latency = number("latency", str("latency"))
const speed = number("speed", str("speed"), 1)!
const emulator = await start({
  port: number("port", str("port"), 4599)!,
  host: str("host") ?? "127.0.0.1",
  scenario: {
    seed: number("seed", str("seed"), 1)!,
    pipelines: number("pipelines", str("pipelines"), 3)!,
    executionsPerPipeline: number("executions", str("executions"), 12)!,
    now: Date.now()
  },
  clock: speed === 0 ? "manual" : speed,
  faults: {
    ...(throttle === undefined ? {} : { throttle: { rate: throttle } }),
    serverErrorRate: number("error-rate", str("error-rate"), 0)!,
    ...(latency === undefined ? {} : { latency }),
    malformedRate: number("malformed-rate", str("malformed-rate"), 0)!
  }
}).catch((error: Error) => {
  process.stderr.write(`pipetrail-emulator: ${error.message}\n`)
  process.exit(error instanceof RangeError ? 2 : 1)
})
process.stdout.write(`CodePipeline emulator listening on ${emulator.url}\n`)
for (const p of emulator.pipelines()) process.stdout.write(`  pipeline ${p.name}\n`)
const stop = () => {
  emulator.close().then(() => process.exit(0))
}
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
