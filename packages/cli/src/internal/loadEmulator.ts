import { Effect } from "effect"

/** The emulator, loaded by the commands that run one (`emulator`, `demo`), not by every start of the CLI. */
export const loadEmulator = Effect.promise(() => import("@pipetrail/emulator"))
