/**
 * Where observations enter the store: one that no history could hold (a time outside 1970–9999, an
 * empty source or one with NUL, a bad run id) is refused before any write; the rest become pending
 * writes, their time read once and written from that reading.
 */
import type { ActionExecution } from "@pipetrail/core"
import { Effect } from "effect"
import type { ActionRecordInput, RecordInput } from "../SnapshotStore.js"
import { InvalidObservationError } from "./errors.js"
import { keyOf, type Pending } from "./write.js"

/** The range of observation times the store takes: nothing pipetrail records predates 1970. */
const earliest = Date.UTC(1970, 0, 1)
const latest = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/**
 * The time a Date holds, read with Date's own method (a Date from another realm counts; an object
 * that only looks like one, or a subclass that overrides `getTime`, does not fool it), else NaN.
 */
const timeOf = (value: unknown): number => {
  try {
    return Date.prototype.getTime.call(value)
  } catch {
    return Number.NaN
  }
}

/** A value as text for an error message, whatever it is (its own `toJSON` may throw). */
const shown = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** Refuses, before any write, an observation whose time, source or run no history could hold. */
const validate = (
  input: { readonly source: string; readonly observedAt: Date; readonly runId?: number },
  what: { readonly pipelineExecutionId: string; readonly label: string }
): Effect.Effect<void, InvalidObservationError> => {
  const refuse = (field: string, value: string, expected: string) =>
    Effect.fail(
      new InvalidObservationError({
        field,
        value,
        pipelineExecutionId: what.pipelineExecutionId,
        message: `${field} ${value} of ${what.label} is not valid: expected ${expected}`
      })
    )
  const at = timeOf(input.observedAt)
  if (!(at >= earliest && at <= latest)) {
    return refuse(
      "observedAt",
      Number.isFinite(at)
        ? new Date(at).toISOString()
        : Object.prototype.toString.call(input.observedAt) === "[object Date]"
          ? "Invalid Date"
          : shown(input.observedAt),
      "a Date from 1970-01-01 to 9999-12-31 (the time the response arrived)"
    )
  }
  if (typeof input.source !== "string" || input.source.length === 0 || input.source.includes("\u0000")) {
    return refuse("source", shown(input.source), "a non-empty label without NUL characters")
  }
  if (input.runId !== undefined && !(Number.isSafeInteger(input.runId) && input.runId >= 1)) {
    return refuse("runId", String(input.runId), "the id of a stored run (an integer from 1), or none")
  }
  return Effect.void
}

/** `input` as a pending write, or the reason no history could hold it. */
export const pendingOf = (input: RecordInput): Effect.Effect<Pending, InvalidObservationError> =>
  Effect.as(
    validate(input, {
      pipelineExecutionId: input.document.pipelineExecutionId,
      label: `execution ${input.document.pipelineExecutionId}`
    }),
    {
      key: keyOf(input.source, input.document.pipelineName, input.document.pipelineExecutionId),
      source: input.source,
      document: input.document,
      // Written from the time validated above, whatever object carried it.
      observedAt: new Date(timeOf(input.observedAt)),
      runId: input.runId ?? null
    }
  )

/** An action execution's observation to write. */
export interface ActionPending {
  readonly source: string
  readonly pipelineName: string
  readonly action: ActionExecution.ActionExecution
  readonly observedAt: Date
  readonly runId: number | null
}

/** `input` as a pending action write, or the reason no history could hold it. */
export const actionPendingOf = (input: ActionRecordInput): Effect.Effect<ActionPending, InvalidObservationError> =>
  Effect.as(
    validate(input, {
      pipelineExecutionId: input.action.pipelineExecutionId,
      label: `action execution ${input.action.actionExecutionId} of execution ${input.action.pipelineExecutionId}`
    }),
    {
      source: input.source,
      pipelineName: input.pipelineName,
      action: input.action,
      observedAt: new Date(timeOf(input.observedAt)),
      runId: input.runId ?? null
    }
  )
