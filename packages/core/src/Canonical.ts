import * as crypto from "node:crypto"

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

/** An array index (a canonical uint32 below 2^32 - 1): objects list such keys first, in numeric order. */
const isIndex = (key: string): boolean => {
  const c = key.charCodeAt(0)
  if (c < 48 || c > 57) return false
  return (key === "0" || (c !== 48 && /^\d+$/.test(key))) && Number(key) < 4294967295
}

/**
 * Object keys in the order `JSON.stringify` gives an object built with sorted keys: array-index keys
 * first (numerically, as every object lists them), then the others sorted by UTF-16 code units.
 */
const sortedKeys = (value: object): Array<string> => {
  const keys = Object.keys(value)
  let indexes = 0
  while (indexes < keys.length && isIndex(keys[indexes]!)) indexes++
  if (indexes === 0) return keys.sort()
  const rest = keys.slice(indexes).sort()
  keys.length = indexes
  return keys.concat(rest)
}

const write = (value: unknown, depth: number): string | undefined => {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
      return Number.isFinite(value) ? String(value) : "null"
    case "boolean":
      return value ? "true" : "false"
    case "object": {
      if (value === null) return "null"
      if (value instanceof Date) return JSON.stringify(value.toISOString())
      if (depth > 256) throw fallback
      if (Array.isArray(value)) {
        let out = "["
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ","
          out += write(value[i], depth + 1) ?? "null"
        }
        return `${out}]`
      }
      let out = "{"
      let first = true
      for (const key of sortedKeys(value)) {
        const item = write((value as Record<string, unknown>)[key], depth + 1)
        if (item === undefined) continue
        out += first ? `${JSON.stringify(key)}:${item}` : `,${JSON.stringify(key)}:${item}`
        first = false
      }
      return `${out}}`
    }
    case "bigint":
      throw fallback
    default:
      // undefined, functions and symbols: left out of objects, null in arrays, as JSON.stringify does
      return undefined
  }
}

/**
 * JSON with object keys sorted at every depth and no whitespace: the same value always gives the
 * same bytes. Dates become ISO strings, `undefined` properties are left out (`null` in arrays).
 * Values nested deeper than 256 levels take an iterative path, so nothing overflows the stack.
 */
export const stringify = (value: unknown): string => {
  try {
    return write(value, 0) ?? "null"
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

const deeper = (value: unknown, levels: number): boolean => {
  if (value === null || typeof value !== "object" || value instanceof Date) return false
  if (levels === 0) return true
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (deeper(value[i], levels - 1)) return true
    return false
  }
  for (const key in value) {
    if (Object.hasOwn(value, key) && deeper((value as Record<string, unknown>)[key], levels - 1)) return true
  }
  return false
}

/**
 * Whether a value nests objects and arrays more than `levels` deep (`depth(value) > levels`),
 * looking no deeper than that: the recursion is bounded by `levels`, and cheap on shallow values.
 */
export const deeperThan = (value: unknown, levels: number): boolean => deeper(value, levels)

/** The deepest nesting a CodePipeline document may have; real ones nest about 4 levels. */
export const maxDepth = 64

/** The SHA-256 (hex) of a text, such as canonical JSON already computed. */
export const sha256: (text: string) => string =
  // One-shot `crypto.hash` (Node.js 20.12+) skips building a Hash object.
  typeof crypto.hash === "function"
    ? (text) => crypto.hash("sha256", text, "hex")
    : (text) => crypto.createHash("sha256").update(text).digest("hex")

/** The SHA-256 (hex) of a value's canonical JSON. */
export const hash = (value: unknown): string => sha256(stringify(value))
