/**
 * Canonical JSON of an `ExecutionDocument` through the engine's own `JSON.stringify`: the known
 * structs are copied into objects whose keys are assigned in sorted order (absent fields as
 * `undefined`, which `JSON.stringify` leaves out), so no keys are sorted per document. Anything
 * else (fields this schema does not know, odd values) returns `undefined` and the caller uses
 * `Canonical.stringify`, the reference this is property-tested against.
 */

import { Schema, type SchemaAST } from "effect"

type Json = Record<string, unknown>

const two = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"))
const three = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"))

/** `Date.prototype.toISOString` for four-digit years, about three times faster; other years use it. */
const isoString = (date: Date): string => {
  const year = date.getUTCFullYear()
  if (!(year >= 1000 && year <= 9999)) return date.toISOString()
  return `${year}-${two[date.getUTCMonth() + 1]}-${two[date.getUTCDate()]}T${two[date.getUTCHours()]}:${two[date.getUTCMinutes()]}:${two[date.getUTCSeconds()]}.${three[date.getUTCMilliseconds()]}Z`
}
type Convert = (value: unknown) => unknown

/** Thrown inside this module only, to hand the document to the generic serializer. */
const generic: unique symbol = Symbol("generic")

const scalar: Convert = (value) => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value
    case "number":
      if (Number.isFinite(value)) return value
      throw generic
    case "object":
      if (value instanceof Date) return isoString(value)
      throw generic
    default:
      throw generic
  }
}

const struct = (fields: Record<string, Convert>): Convert => {
  const keys = Object.keys(fields).sort()
  const converts = keys.map((key) => fields[key]!)
  const known = new Set(keys)
  return (value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Date) throw generic
    const input = value as Json
    const out: Json = {}
    let present = 0
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!
      const item = input[key]
      if (item === undefined) {
        out[key] = undefined
      } else {
        present++
        out[key] = converts[i]!(item)
      }
    }
    // The generic path decides when the own enumerable keys are not exactly the known keys read
    // above: a key this list does not know, one holding `undefined`, an inherited or hidden one.
    const own = Object.keys(input)
    if (own.length !== present) throw generic
    for (let i = 0; i < own.length; i++) if (!known.has(own[i]!)) throw generic
    return out
  }
}

const array =
  (item: Convert): Convert =>
  (value) => {
    if (!Array.isArray(value)) throw generic
    const out = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) {
      const v = value[i]
      if (v === undefined) throw generic
      out[i] = item(v)
    }
    return out
  }

/**
 * The converter for a schema's type side, derived from its AST: a struct for each type literal,
 * an array for each array, a scalar for the rest (brands, dates, enums, strings). Anything the
 * derivation does not know (a union of structs, a record) becomes a scalar, which hands such
 * documents to the generic serializer: slower, never different.
 */
const converterOf = (ast: SchemaAST.AST): Convert => {
  switch (ast._tag) {
    case "TypeLiteral":
      return ast.indexSignatures.length > 0
        ? scalar
        : struct(Object.fromEntries(ast.propertySignatures.map((p) => [String(p.name), converterOf(p.type)])))
    case "TupleType":
      return ast.elements.length === 0 && ast.rest.length === 1 ? array(converterOf(ast.rest[0]!.type)) : scalar
    default:
      return scalar
  }
}

/**
 * The canonical JSON of a value of `schema` made of known fields only, or `undefined` for the
 * generic path. The known fields are the schema's own: adding a field to the schema adds it here.
 */
export const fastCanonicalOf = (schema: Schema.Schema.AnyNoContext) => {
  const document = converterOf(Schema.typeSchema(schema).ast)
  return (value: unknown): string | undefined => {
    try {
      return JSON.stringify(document(value))
    } catch (error) {
      if (error === generic) return undefined
      throw error
    }
  }
}
