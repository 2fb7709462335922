import * as ActionExecution from "./ActionExecution.js"
import * as Canonical from "./Canonical.js"
import * as ExecutionDocument from "./ExecutionDocument.js"

/** Whether a value appeared, disappeared or changed between two states. */
export type ChangeKind = "added" | "removed" | "changed"

/**
 * One difference between two execution states. `path` locates it (`status`,
 * `artifactRevisions[SourceArtifact].revisionId`, `variables[ENV]`); values are JSON (ISO times).
 */
export interface Change {
  readonly path: string
  readonly field: string
  readonly key?: string
  readonly kind: ChangeKind
  readonly before?: unknown
  readonly after?: unknown
}

type Json = Record<string, unknown>

const keyed: Record<string, { readonly key: string; readonly value?: string }> = {
  artifactRevisions: { key: "name" },
  variables: { key: "name", value: "resolvedValue" },
  sourceRevisions: { key: "actionName" }
}

const order = [
  "pipelineName",
  "pipelineVersion",
  "status",
  "statusSummary",
  "executionMode",
  "executionType",
  "trigger",
  "rollbackMetadata",
  "stopTrigger",
  "artifactRevisions",
  "sourceRevisions",
  "variables",
  "startTime",
  "lastUpdateTime"
]

const same = (a: unknown, b: unknown) =>
  typeof a !== "object" || typeof b !== "object" || a === null || b === null
    ? a === b
    : Canonical.stringify(a) === Canonical.stringify(b)

const change = (path: string, field: string, before: unknown, after: unknown, key?: string): Change | undefined => {
  if (before === undefined && after === undefined) return undefined
  if (before !== undefined && after !== undefined && same(before, after)) return undefined
  const kind: ChangeKind = before === undefined ? "added" : after === undefined ? "removed" : "changed"
  return {
    path,
    field,
    kind,
    ...(key === undefined ? {} : { key }),
    ...(before === undefined ? {} : { before }),
    ...(after === undefined ? {} : { after })
  }
}

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const diffObject = (field: string, prefix: string, a: unknown, b: unknown, key?: string): Array<Change> => {
  if (!isObject(a) || !isObject(b)) {
    const c = change(prefix, field, a, b, key)
    return c === undefined ? [] : [c]
  }
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
  return names.flatMap((name) => {
    const c = change(`${prefix}.${name}`, field, a[name], b[name], key)
    return c === undefined ? [] : [c]
  })
}

const index = (items: unknown, keyName: string): Map<string, unknown> => {
  const out = new Map<string, unknown>()
  if (!Array.isArray(items)) return out
  items.forEach((item, i) => {
    const k = isObject(item) && typeof item[keyName] === "string" ? (item[keyName] as string) : `#${i}`
    out.set(out.has(k) ? `${k}#${i}` : k, item)
  })
  return out
}

const diffKeyed = (field: string, a: unknown, b: unknown): Array<Change> => {
  const spec = keyed[field]!
  const before = index(a, spec.key)
  const after = index(b, spec.key)
  const simple = (item: unknown): item is Json =>
    spec.value !== undefined && isObject(item) && Object.keys(item).every((k) => k === spec.key || k === spec.value)
  const keys = [...new Set([...before.keys(), ...after.keys()])]
  return keys.flatMap((k) => {
    const x = before.get(k)
    const y = after.get(k)
    const path = `${field}[${k}]`
    if ((x === undefined || simple(x)) && (y === undefined || simple(y))) {
      const valueIn = (item: Json | undefined) => (item === undefined ? undefined : (item[spec.value!] ?? null))
      const c = change(path, field, valueIn(x), valueIn(y), k)
      return c === undefined ? [] : [c]
    }
    if (x === undefined || y === undefined) {
      const c = change(path, field, x, y, k)
      return c === undefined ? [] : [c]
    }
    return diffObject(field, path, x, y, k)
  })
}

/**
 * What changed from state `a` to state `b` of an execution (or between two executions):
 * scalar fields, nested trigger/rollback/stop fields, and artifact revisions, source
 * revisions and variables matched by name. Pure; an empty list means equal content.
 */
export const diff = (a: ExecutionDocument.ExecutionDocument, b: ExecutionDocument.ExecutionDocument): Array<Change> => {
  // The JSON form (ISO times): what `encode` gives, by the canonical serializer, which is faster.
  const x = JSON.parse(ExecutionDocument.canonicalJson(a)) as Json
  const y = JSON.parse(ExecutionDocument.canonicalJson(b)) as Json
  const fields = [
    ...order,
    ...[...new Set([...Object.keys(x), ...Object.keys(y)])]
      .filter((f) => !order.includes(f) && f !== "pipelineExecutionId")
      .sort()
  ]
  const changes = fields.flatMap((field) =>
    keyed[field] !== undefined ? diffKeyed(field, x[field], y[field]) : diffObject(field, field, x[field], y[field])
  )
  const id = change("pipelineExecutionId", "pipelineExecutionId", x.pipelineExecutionId, y.pipelineExecutionId)
  return id === undefined ? changes : [id, ...changes]
}

/** Leaf values of a JSON value by path (`output.executionResult.errorDetails.code`); arrays are leaves. */
const leaves = (value: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> => {
  if (isObject(value)) {
    for (const name of Object.keys(value).sort()) leaves(value[name], prefix === "" ? name : `${prefix}.${name}`, out)
  } else if (value !== undefined) out.set(prefix, value)
  return out
}

/** The JSON form of an action execution (ISO times), keys sorted. */
const actionJson = (action: ActionExecution.ActionExecution): Json =>
  JSON.parse(ActionExecution.canonicalJson(action)) as Json

/** Where an action sits in its pipeline: `Stage/Action`. */
export const actionKey = (action: { readonly stageName: string; readonly actionName: string }): string =>
  `${action.stageName}/${action.actionName}`

/**
 * What changed from one state of an action execution to the next (`before` undefined: it was first
 * seen, and every field it has is `added`). Paths are prefixed `actions[Stage/Action]`, the key is
 * the action execution id; values are JSON (ISO times).
 */
export const diffAction = (
  before: ActionExecution.ActionExecution | undefined,
  after: ActionExecution.ActionExecution
): Array<Change> => {
  const prefix = `actions[${actionKey(after)}]`
  const x = before === undefined ? new Map<string, unknown>() : leaves(actionJson(before), "", new Map())
  const y = leaves(actionJson(after), "", new Map())
  const paths = [...new Set([...x.keys(), ...y.keys()])].filter(
    (p) => p !== "pipelineExecutionId" && p !== "actionExecutionId" && p !== "stageName" && p !== "actionName"
  )
  const first = [
    "status",
    "updatedBy",
    "output.executionResult.errorDetails.code",
    "output.executionResult.errorDetails.message"
  ]
  paths.sort((a, b) => {
    const i = first.indexOf(a)
    const j = first.indexOf(b)
    return (i === -1 ? first.length : i) - (j === -1 ? first.length : j) || (a < b ? -1 : a > b ? 1 : 0)
  })
  return paths.flatMap((p) => {
    const c = change(`${prefix}.${p}`, "actions", x.get(p), y.get(p), after.actionExecutionId)
    return c === undefined ? [] : [c]
  })
}

/** What an audit compares of an action across two executions. */
const compared: ReadonlyArray<readonly [string, (a: ActionExecution.ActionExecution) => unknown]> = [
  ["status", (a) => a.status],
  ["updatedBy", (a) => a.updatedBy],
  ["errorCode", (a) => a.output?.executionResult?.errorDetails?.code],
  ["errorMessage", (a) => a.output?.executionResult?.errorDetails?.message],
  ["summary", (a) => a.output?.executionResult?.externalExecutionSummary],
  ["provider", (a) => a.input?.actionTypeId?.provider]
]

/**
 * What differs between the actions of two executions: each action (`Stage/Action`) compared by its
 * latest attempt — status, who updated it (the approver), error, summary (the approver's comment),
 * provider — and its number of attempts; an action only one execution ran is `added` or `removed`.
 */
export const diffActions = (
  a: ReadonlyArray<ActionExecution.ActionExecution>,
  b: ReadonlyArray<ActionExecution.ActionExecution>
): Array<Change> => {
  const byAction = (actions: ReadonlyArray<ActionExecution.ActionExecution>) => {
    const out = new Map<string, { latest: ActionExecution.ActionExecution; attempts: number }>()
    for (const action of actions) {
      const key = actionKey(action)
      const seen = out.get(key)
      const later =
        seen === undefined ||
        (action.startTime?.getTime() ?? Number.NEGATIVE_INFINITY) >
          (seen.latest.startTime?.getTime() ?? Number.NEGATIVE_INFINITY)
      out.set(key, { latest: later ? action : seen.latest, attempts: (seen?.attempts ?? 0) + 1 })
    }
    return out
  }
  const x = byAction(a)
  const y = byAction(b)
  const keys = [...new Set([...x.keys(), ...y.keys()])]
  return keys.flatMap((key) => {
    const before = x.get(key)
    const after = y.get(key)
    const path = `actions[${key}]`
    if (before === undefined || after === undefined) {
      const c = change(path, "actions", before?.latest.status, after?.latest.status, key)
      return c === undefined ? [] : [c]
    }
    return [
      ...compared.map(([name, of]) => change(`${path}.${name}`, "actions", of(before.latest), of(after.latest), key)),
      change(`${path}.attempts`, "actions", before.attempts, after.attempts, key)
    ].filter((c): c is Change => c !== undefined)
  })
}
