import { createHash } from "node:crypto"

type Frame = { readonly text: string } | { readonly value: unknown }

const scalar = (value: unknown): string => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value)
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : "null"
    case "bigint":
      return value.toString()
    default:
      return "null"
  }
}

/** Signals that the fast recursive path cannot take a value (too deep, or a bigint). */
const fallback: unique symbol = Symbol("fallback")

const normalize = (value: unknown, depth: number): unknown => {
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") throw fallback
    return value
  }
  if (value instanceof Date) return value.toISOString()
  if (depth > 256) throw fallback
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : normalize(item, depth + 1)))
  // No prototype: a "__proto__" key stays an ordinary property.
  const out: Record<string, unknown> = Object.create(null)
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key]
    if (item !== undefined) out[key] = normalize(item, depth + 1)
  }
  return out
}

/**
 * JSON with object keys sorted at every depth and no whitespace: the same value always gives the
 * same bytes. Dates become ISO strings, `undefined` properties are left out (`null` in arrays).
 * Values nested deeper than 256 levels take an iterative path, so nothing overflows the stack.
 */
export const stringify = (value: unknown): string => {
  try {
    return JSON.stringify(normalize(value, 0)) ?? "null"
  } catch (error) {
    if (error === fallback) return stringifyIterative(value)
    throw error
  }
}

/** The same output as `stringify`, without recursion. */
export const stringifyIterative = (value: unknown): string => {
  const out: Array<string> = []
  const stack: Array<Frame> = [{ value }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    if ("text" in frame) {
      out.push(frame.text)
      continue
    }
    const v = frame.value instanceof Date ? frame.value.toISOString() : frame.value
    if (v === null || typeof v !== "object") {
      out.push(scalar(v))
    } else if (Array.isArray(v)) {
      out.push("[")
      stack.push({ text: "]" })
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ value: v[i] })
        if (i > 0) stack.push({ text: "," })
      }
    } else {
      // Property order as an object built with sorted keys has it (integer-like keys first), like the recursive path.
      const keys = Object.keys(
        Object.fromEntries(
          Object.keys(v)
            .filter((k) => {
              const item = (v as Record<string, unknown>)[k]
              return item !== undefined && typeof item !== "function" && typeof item !== "symbol"
            })
            .sort()
            .map((k) => [k, true])
        )
      )
      out.push("{")
      stack.push({ text: "}" })
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!
        stack.push({ value: (v as Record<string, unknown>)[key] })
        stack.push({ text: `${JSON.stringify(key)}:` })
        if (i > 0) stack.push({ text: "," })
      }
    }
  }
  return out.join("")
}

/** How deeply a value nests objects and arrays (a scalar is 0). Iterative. */
export const depth = (value: unknown): number => {
  let max = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop()!
    if (v === null || typeof v !== "object" || v instanceof Date) continue
    const level = d + 1
    if (level > max) max = level
    for (const item of Array.isArray(v) ? v : Object.values(v)) stack.push([item, level])
  }
  return max
}

/** The deepest nesting a CodePipeline document may have; real ones nest about 4 levels. */
export const maxDepth = 64

/** The SHA-256 (hex) of a text, such as canonical JSON already computed. */
export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")

/** The SHA-256 (hex) of a value's canonical JSON. */
export const hash = (value: unknown): string => sha256(stringify(value))
