import { Args, Command } from "@effect/cli"
import { ActionExecution, ExecutionDocument } from "@pipetrail/core"
import { SnapshotStore } from "@pipetrail/store"
import { Effect } from "effect"
import { globalOptions } from "../Global.js"
import { describeActionStep, describeChange } from "../internal/format.js"
import { keyOf, keyOptions, storeOnly } from "../internal/storeCommand.js"
import * as Output from "../Output.js"

/** `pipetrail history <execution-id>`: every stored state with what changed at each step. */
export const history = Command.make(
  "history",
  { ...globalOptions, ...keyOptions, executionId: Args.text({ name: "execution-id" }) },
  (c) =>
    Effect.gen(function* () {
      const store = yield* SnapshotStore.SnapshotStore
      const entries = yield* store.history(yield* keyOf(c.executionId, c))
      if (c.output === "json") {
        return yield* Output.printJson(
          entries.map((e) => ({
            snapshotId: e.snapshot.id,
            seq: e.snapshot.seq,
            status: e.snapshot.status,
            firstSeenAt: e.snapshot.firstSeenAt.toISOString(),
            lastSeenAt: e.snapshot.lastSeenAt.toISOString(),
            seenCount: e.snapshot.seenCount,
            contentHash: e.snapshot.contentHash,
            changes: e.changes,
            document: ExecutionDocument.encode(e.snapshot.document),
            actions: e.actions.map((a) => ({
              stateId: a.snapshot.stateId,
              actionExecutionId: a.snapshot.action.actionExecutionId,
              stageName: a.snapshot.action.stageName,
              actionName: a.snapshot.action.actionName,
              seq: a.snapshot.seq,
              status: a.snapshot.action.status,
              firstSeenAt: a.snapshot.firstSeenAt?.toISOString(),
              lastSeenAt: a.snapshot.lastSeenAt.toISOString(),
              seenCount: a.snapshot.seenCount,
              changes: a.changes,
              action: ActionExecution.encode(a.snapshot.action)
            }))
          }))
        )
      }
      return yield* Output.print(c.output, {
        columns: ["seq", "snapshot", "status", "first_seen", "last_seen", "seen", "changes"],
        rows: entries.map((e) => [
          e.snapshot.seq,
          e.snapshot.id,
          e.snapshot.status,
          e.snapshot.firstSeenAt,
          e.snapshot.lastSeenAt,
          e.snapshot.seenCount,
          [
            e.changes.length === 0
              ? e.snapshot.seq === 1
                ? "(first state stored)"
                : ""
              : e.changes.map(describeChange).join("; "),
            ...e.actions.map(describeActionStep)
          ]
            .filter((text) => text !== "")
            .join("; ")
        ])
      })
    })
).pipe(
  Command.withDescription(
    "Show an execution's stored states over time and what changed at each step, with the action executions'\nchanges seen during each state (a stage that failed, an approval and who gave it).\n\nExample: pipetrail history 3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4"
  ),
  Command.provide((c) => storeOnly(c))
)
