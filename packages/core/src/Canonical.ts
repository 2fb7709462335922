import { createHash } from "node:crypto"

const normalize = (value: unknown): unknown => {
  if (value === null || typeof value !== "object") return value
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : normalize(item)))
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key]
    if (item !== undefined) out[key] = normalize(item)
  }
  return out
}

/** JSON with object keys sorted at every depth and no whitespace: the same value always gives the same bytes. */
export const stringify = (value: unknown): string => JSON.stringify(normalize(value)) ?? "null"

/** The SHA-256 (hex) of a text, such as canonical JSON already computed. */
export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex")

/** The SHA-256 (hex) of a value's canonical JSON. */
export const hash = (value: unknown): string => sha256(stringify(value))
