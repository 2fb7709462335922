#!/usr/bin/env node
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"

import v8 from "node:v8"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import { run } from "./Cli.js"

// A job's live heap is small (~55 MB over a 10,000-execution backfill) but it allocates fast, and V8
// grows the heap up to 4× the live size between full collections. Growing it by a quarter keeps the
// peak flat at no measurable cost in speed (bench 8). Heap options of your own win.
if (
  !/--(heap-growing-percent|max-old-space-size)\b/.test(
    `${process.env.NODE_OPTIONS ?? ""} ${process.execArgv.join(" ")}`
  )
) {
  v8.setFlagsFromString("--heap-growing-percent=25")
}

const argv = process.argv.slice(2)
/** The subcommand: the first argument that is neither an option nor the value of `--log-level`. */
const subcommand = argv.find((arg, i) => !arg.startsWith("-") && argv[i - 1] !== "--log-level")

// A command that runs a query or two and exits runs WebAssembly (PGlite, the SQL parser) on V8's
// baseline compiler only: optimizing PGlite's 9 MB module in the background cost such a command
// ~0.15 s and ~65 MB more than it saved. Jobs and the emulator keep the optimizing tier.
if (
  subcommand !== undefined &&
  ["executions", "history", "diff", "sql", "get", "actions", "approvals"].includes(subcommand)
) {
  v8.setFlagsFromString("--liftoff-only")
}
const debug = argv.some((arg, i) => arg === "--log-level=debug" || (arg === "--log-level" && argv[i + 1] === "debug"))

// NodeRuntime interrupts the program on SIGINT and SIGTERM; which one it was sets the exit code:
// 130 or 143 as a shell expects, except for `watch` and `emulator`, whose way of ending is a signal (exit 0).
let signal: "SIGINT" | "SIGTERM" | undefined
for (const name of ["SIGINT", "SIGTERM"] as const) {
  process.once(name, () => {
    signal ??= name
  })
}
const endsOnSignal = new Set(["watch", "emulator"])
const interruptedCode = () =>
  endsOnSignal.has(subcommand ?? "") ? 0 : signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1

// `diff --snapshots 1 32`: a boolean flag takes a following 1 or 0 as its own value, which would
// eat snapshot id 1. Given as `--snapshots=true`, it takes none, and both ids stay arguments.
const args = subcommand === "diff" ? argv.map((arg) => (arg === "--snapshots" ? "--snapshots=true" : arg)) : argv

NodeRuntime.runMain(run(args, debug).pipe(Effect.provide(NodeContext.layer)), {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: (exit, onExit) =>
    onExit(
      Exit.isSuccess(exit) && typeof exit.value === "number"
        ? exit.value
        : Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
          ? interruptedCode()
          : 1
    )
})
