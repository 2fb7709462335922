/**
 * A hand-written decoder for `ExecutionDocument` that accepts a subset of what the schema accepts
 * and returns exactly what the schema returns for it (a property test holds it to that). Anything
 * it is unsure of returns `undefined`, and the caller decodes with the schema, which also gives the
 * error messages. It exists because decoding is on every hot path: API responses and store reads.
 */

import { deeperThan, maxDepth } from "../Canonical.js"
import { rules } from "../Identifiers.js"

type Json = Record<string, unknown>

const isoPattern = /^[+-]?\d{4,6}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/

/** Thrown inside this module only, to bail out to the schema. */
const bail: unique symbol = Symbol("bail")

const isPlainObject = (u: unknown): u is Json =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !(u instanceof Date)

const str = (u: unknown): string => {
  if (typeof u !== "string") throw bail
  return u
}

/** A string within the model's rules for it (`Identifiers.rules`), or a bail to the schema. */
const bounded = (
  u: unknown,
  rule: { readonly min?: number; readonly max?: number; readonly pattern?: RegExp }
): string => {
  const s = str(u)
  if (
    (rule.min !== undefined && s.length < rule.min) ||
    (rule.max !== undefined && s.length > rule.max) ||
    (rule.pattern !== undefined && !rule.pattern.test(s))
  ) {
    throw bail
  }
  return s
}

const timestamp = (u: unknown): Date => {
  const date =
    u instanceof Date
      ? u
      : typeof u === "number"
        ? new Date(u * 1000)
        : typeof u === "string" && isoPattern.test(u)
          ? new Date(u)
          : undefined
  if (date === undefined || Number.isNaN(date.getTime())) throw bail
  return date
}

/**
 * Copies an object, converting the known fields that are present; absent stays absent, `undefined` bails.
 * `level` is how deep the object sits in the document (the document is 1): a field this decoder does
 * not know is kept as it is, unless it would make the document nest deeper than `maxDepth`.
 */
const struct = (
  u: unknown,
  level: number,
  fields: Record<string, (value: unknown) => unknown>,
  required: ReadonlyArray<string> = []
): Json => {
  if (!isPlainObject(u)) throw bail
  for (const key of required) if (!Object.hasOwn(u, key)) throw bail
  const out: Json = {}
  for (const key of Object.keys(u)) {
    if (key === "__proto__") throw bail
    const value = u[key]
    const field = fields[key]
    if (field === undefined) {
      if (typeof value === "object" && value !== null && deeperThan(value, maxDepth - level)) throw bail
      out[key] = value
    } else {
      if (value === undefined) throw bail
      out[key] = field(value)
    }
  }
  return out
}

const array = (item: (u: unknown) => unknown) => (u: unknown) => {
  if (!Array.isArray(u)) throw bail
  return u.map(item)
}

const artifactRevision = (u: unknown) =>
  struct(u, 3, {
    name: (v) => bounded(v, rules.artifactName),
    revisionId: (v) => bounded(v, rules.revisionId),
    revisionChangeIdentifier: str,
    revisionSummary: str,
    created: timestamp,
    revisionUrl: str
  })

const variable = (u: unknown) => struct(u, 3, { name: str, resolvedValue: str })

const sourceRevision = (u: unknown) =>
  struct(
    u,
    3,
    {
      actionName: (v) => bounded(v, rules.actionName),
      revisionId: (v) => bounded(v, rules.revisionId),
      revisionSummary: str,
      revisionUrl: str
    },
    ["actionName"]
  )

const fields: Record<string, (value: unknown) => unknown> = {
  pipelineName: (v) => bounded(v, rules.pipelineName),
  pipelineVersion: (v) => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) throw bail
    return v
  },
  pipelineExecutionId: (v) => bounded(v, rules.pipelineExecutionId),
  status: str,
  statusSummary: str,
  artifactRevisions: array(artifactRevision),
  variables: array(variable),
  trigger: (v) => struct(v, 2, { triggerType: str, triggerDetail: str }),
  executionMode: str,
  executionType: str,
  rollbackMetadata: (v) =>
    struct(v, 2, { rollbackTargetPipelineExecutionId: (id) => bounded(id, rules.pipelineExecutionId) }),
  startTime: timestamp,
  lastUpdateTime: timestamp,
  sourceRevisions: array(sourceRevision),
  stopTrigger: (v) => struct(v, 2, { reason: str })
}

const required = ["pipelineName", "pipelineVersion", "pipelineExecutionId", "status"]

/** The decoded document, or `undefined` when the schema has to decide. */
export const fastDecode = (input: unknown): Json | undefined => {
  try {
    return struct(input, 1, fields, required)
  } catch (error) {
    if (error === bail) return undefined
    throw error
  }
}
