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

/**
 * JSON with object keys sorted at every depth and no whitespace: the same value always gives the
 * same bytes. Dates become ISO strings, `undefined` properties are left out (`null` in arrays).
 * Iterative, so no nesting depth overflows the stack.
 */
export const stringify = (value: unknown): string => {
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
      const keys = Object.keys(v)
        .filter((k) => {
          const item = (v as Record<string, unknown>)[k]
          return item !== undefined && typeof item !== "function" && typeof item !== "symbol"
        })
        .sort()
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
