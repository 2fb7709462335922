import { Args, Command, Options } from "@effect/cli"
import { SnapshotStore } from "@pipetrail/store"
import { Console, Effect, Option } from "effect"
import { globalOptions } from "../Global.js"
import { UsageError } from "../internal/errors.js"
import { changeRows } from "../internal/format.js"
import { keyOf, storeOnly } from "../internal/storeCommand.js"
import * as Output from "../Output.js"

/** `pipetrail diff a b` or `pipetrail diff --snapshots 12 15`. */
export const diff = Command.make(
  "diff",
  {
    ...globalOptions,
    snapshots: Options.boolean("snapshots").pipe(
      Options.withDescription("compare two snapshot ids instead of two executions")
    ),
    a: Args.text({ name: "a" }),
    b: Args.text({ name: "b" })
  },
  (c) =>
    Effect.gen(function* () {
      const store = yield* SnapshotStore.SnapshotStore
      const changes = c.snapshots
        ? yield* Effect.gen(function* () {
            const ids = [c.a, c.b].map((v) => Number(v))
            if (ids.some((id) => !Number.isSafeInteger(id) || id < 1)) {
              return yield* new UsageError({
                message: `snapshot ids are positive integers, got ${JSON.stringify(c.a)} and ${JSON.stringify(c.b)}`
              })
            }
            return yield* store.diffSnapshots(ids[0]!, ids[1]!)
          })
        : yield* store.diffExecutions(
            // --source narrows both ids when an execution is stored under several sources.
            yield* keyOf(c.a, { pipeline: Option.none(), source: c.source }),
            yield* keyOf(c.b, { pipeline: Option.none(), source: c.source })
          )
      if (c.output === "json") return yield* Output.printJson(changes)
      if (changes.length === 0 && c.output === "table") return yield* Console.log("no differences")
      return yield* Output.print(c.output, changeRows(changes))
    })
).pipe(
  Command.withDescription(
    [
      "Show what differs between the latest states of two executions, their action executions included",
      "(an action that failed in one and succeeded in the other, another approver), or between two snapshots.",
      "",
      "Examples:",
      "  pipetrail diff 3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4 0e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
      "  pipetrail diff --snapshots 12 15"
    ].join("\n")
  ),
  Command.provide((c) => storeOnly(c))
)
