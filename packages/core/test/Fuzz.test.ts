import { assert, describe, it } from "@effect/vitest"
import { Canonical, ExecutionDocument } from "@pipetrail/core"
import { Arbitrary, Either, FastCheck as fc, Schema } from "effect"
import { fastCanonicalOf } from "../src/internal/fastCanonical.js"
import { fastDecode } from "../src/internal/fastDecode.js"

// Bounded by run count and size, never by wall time: a loaded 2-core machine may take minutes, so
// each suite allows five (the 30 s default is for tests whose cost does not grow with the machine's load).
const valid = Arbitrary.make(ExecutionDocument.ExecutionDocument).map((doc) => JSON.parse(Canonical.stringify(doc)))

/** Replaces, drops or retypes one value somewhere inside a JSON value. */
const mutate = (value: unknown, path: ReadonlyArray<number>, replacement: unknown, drop: boolean): unknown => {
  if (value === null || typeof value !== "object" || path.length === 0) return replacement
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value)
  if (entries.length === 0) return replacement
  const index = path[0]! % entries.length
  const next = entries.map(([k, v], i) => [k, i === index ? mutate(v, path.slice(1), replacement, drop) : v] as const)
  const kept = drop && path.length === 1 ? next.filter((_, i) => i !== index) : next
  return Array.isArray(value) ? kept.map(([, v]) => v) : Object.fromEntries(kept)
}

/** Hostile values up to a size: huge strings and deep nesting, bounded so a run's cost is bounded too. */
const hostileUpTo = (size: { readonly string: number; readonly depth: number }) =>
  fc.oneof(
    fc.jsonValue(),
    fc.string({ minLength: size.string / 2, maxLength: size.string }),
    fc.constantFrom("yesterday", "2026-13-45T99:99:99Z", "", -1, 1e308, Number.NaN, true, null, [], {}),
    fc.integer({ min: 100, max: size.depth }).map((depth) => {
      let v: unknown = "bottom"
      for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { nested: v } : [v]
      return v
    })
  )

const hostile = hostileUpTo({ string: 200_000, depth: 5_000 })

/** A property over valid documents mutated at a random path by a hostile value. */
const mutated = (check: (input: unknown) => void, values: fc.Arbitrary<unknown> = hostile) =>
  fc.property(
    valid,
    fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
    values,
    fc.boolean(),
    (doc, path, replacement, drop) => check(mutate(doc, path, replacement, drop))
  )

const decodeNeverThrows = (input: unknown) => {
  let result: ReturnType<typeof ExecutionDocument.decode> | undefined
  assert.doesNotThrow(() => {
    result = ExecutionDocument.decode(input)
  })
  const decoded = result!
  if (Either.isRight(decoded)) assert.doesNotThrow(() => ExecutionDocument.canonicalJson(decoded.right))
  else assert.isAbove(decoded.left.message.length, 0)
  return decoded
}

describe("decoder under hostile input", { timeout: 300_000 }, () => {
  it("arbitrary JSON: always a typed success or a typed failure, never a thrown defect", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (input) => void decodeNeverThrows(input)),
      { numRuns: 500 }
    )
  })

  it("mutated valid payloads: values replaced, dropped or retyped at any depth", () => {
    fc.assert(
      mutated((input) => void decodeNeverThrows(input)),
      { numRuns: 300 }
    )
  })

  it("wrong types and invalid dates in every known field are refused with the field named", () => {
    const base = {
      pipelineName: "p",
      pipelineVersion: 1,
      pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4",
      status: "Succeeded"
    }
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...base, pipelineVersion: "1" }, "pipelineVersion"],
      [{ ...base, status: 7 }, "status"],
      [{ ...base, startTime: "not a date" }, "startTime"],
      [{ ...base, lastUpdateTime: {} }, "lastUpdateTime"],
      [{ ...base, artifactRevisions: [{ created: "31/12/2026" }] }, "created"],
      [{ ...base, variables: {} }, "variables"],
      [{ ...base, trigger: "Webhook" }, "trigger"]
    ]
    for (const [input, field] of cases) {
      const result = decodeNeverThrows(input)
      assert.isTrue(Either.isLeft(result), field)
      if (Either.isLeft(result)) assert.include(result.left.message, field)
    }
  })

  it("deep nesting is refused as a typed failure, not a stack overflow", () => {
    let deep: unknown = {}
    for (let i = 0; i < 50_000; i++) deep = { x: deep }
    const result = decodeNeverThrows({
      pipelineName: "p",
      pipelineVersion: 1,
      pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4",
      status: "Succeeded",
      extension: deep
    })
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(result.left.message, "nests deeper than 64 levels")
    assert.doesNotThrow(() => Canonical.stringify(deep))
    assert.strictEqual(Canonical.depth(deep), 50_001)
  })

  it("the depth limit is exact wherever an unknown field sits", () => {
    const nest = (levels: number): unknown => {
      let value: unknown = 1
      for (let i = 0; i < levels; i++) value = i % 2 === 0 ? { a: value } : [value]
      return value
    }
    const base = {
      pipelineName: "p",
      pipelineVersion: 1,
      pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4",
      status: "Succeeded"
    }
    // Where an unknown field can sit, and how deep that object is in the document.
    const places: Array<[number, (extra: unknown) => unknown]> = [
      [1, (extra) => ({ ...base, extra })],
      [2, (extra) => ({ ...base, trigger: { triggerType: "Webhook", extra } })],
      [3, (extra) => ({ ...base, variables: [{ name: "v", resolvedValue: "1", extra }] })]
    ]
    for (const [level, place] of places) {
      const fits = place(nest(Canonical.maxDepth - level))
      const over = place(nest(Canonical.maxDepth - level + 1))
      assert.strictEqual(Canonical.depth(fits), Canonical.maxDepth)
      assert.isTrue(Either.isRight(ExecutionDocument.decode(fits)), `level ${level}: a document at the limit decodes`)
      assert.isDefined(fastDecode(fits), `level ${level}: the fast path takes a document at the limit`)
      assert.isTrue(Either.isLeft(ExecutionDocument.decode(over)), `level ${level}: one level more is refused`)
      assert.isUndefined(fastDecode(over), `level ${level}: the fast path leaves it to the schema path`)
    }
  })

  it("huge strings decode and hash", () => {
    const summary = "x".repeat(5_000_000)
    const result = decodeNeverThrows({
      pipelineName: "p",
      pipelineVersion: 1,
      pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4",
      status: "Succeeded",
      statusSummary: summary
    })
    assert.isTrue(Either.isRight(result))
    if (Either.isRight(result)) assert.match(ExecutionDocument.contentHash(result.right), /^[0-9a-f]{64}$/)
  })
})

describe("the fast decoding path", { timeout: 300_000 }, () => {
  const schemaDecode = Schema.decodeUnknownEither(ExecutionDocument.ExecutionDocument, { onExcessProperty: "preserve" })

  const agrees = (input: unknown) => {
    // ExecutionDocument.decode refuses deeper input before either path sees it.
    if (Canonical.depth(input) > Canonical.maxDepth) return
    const fast = fastDecode(input)
    const reference = schemaDecode(input)
    if (fast !== undefined) {
      assert.isTrue(
        Either.isRight(reference),
        `fast path accepted what the schema refuses: ${JSON.stringify(input)?.slice(0, 300)}`
      )
      if (Either.isRight(reference)) assert.deepStrictEqual(fast, reference.right as unknown)
    }
  }

  it("returns exactly what the schema returns, for valid documents (JSON and SDK forms)", () => {
    fc.assert(
      fc.property(Arbitrary.make(ExecutionDocument.ExecutionDocument), (doc) => {
        const json = JSON.parse(Canonical.stringify(doc))
        assert.isDefined(fastDecode(json))
        agrees(json)
        agrees(doc)
      }),
      { numRuns: 500 }
    )
  })

  it("never accepts what the schema refuses, for mutated and arbitrary input", () => {
    // Sizes bounded here: the schema's full decode is what this compares against, and it is slow on
    // 200 kB strings and 5,000 levels (the test above covers those sizes, with fewer runs).
    fc.assert(mutated(agrees, hostileUpTo({ string: 20_000, depth: 500 })), { numRuns: 1000 })
    fc.assert(fc.property(fc.jsonValue(), agrees), { numRuns: 500 })
  })
})

describe("canonical JSON", { timeout: 300_000 }, () => {
  it("the recursive and iterative paths give the same bytes", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.strictEqual(Canonical.stringify(value), Canonical.stringifyIterative(value))
      }),
      { numRuns: 500 }
    )
    fc.assert(
      fc.property(Arbitrary.make(ExecutionDocument.ExecutionDocument), (doc) => {
        assert.strictEqual(Canonical.stringify(doc), Canonical.stringifyIterative(doc))
      }),
      { numRuns: 200 }
    )
  })

  it("deeperThan agrees with depth without walking past the limit", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(6), (value, levels) => {
        assert.strictEqual(Canonical.deeperThan(value, levels), Canonical.depth(value) > levels)
      }),
      { numRuns: 1000 }
    )
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = { a: [deep] }
    assert.isTrue(Canonical.deeperThan(deep, Canonical.maxDepth))
    assert.isFalse(Canonical.deeperThan({ a: [{ b: new Date(0) }] }, 3))
  })

  it("the fast canonical path of documents gives the generic path's bytes", () => {
    const extra = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 })
    fc.assert(
      fc.property(Arbitrary.make(ExecutionDocument.ExecutionDocument), extra, fc.boolean(), (doc, more, add) => {
        const value = add ? { ...doc, ...more } : doc
        assert.strictEqual(
          ExecutionDocument.canonicalJson(value as ExecutionDocument.ExecutionDocument),
          Canonical.stringifyIterative(value)
        )
      }),
      { numRuns: 500 }
    )
  })

  it("the fast path covers every field of the schema: a document of known fields never falls back", () => {
    const fast = fastCanonicalOf(ExecutionDocument.ExecutionDocument)
    fc.assert(
      fc.property(Arbitrary.make(ExecutionDocument.ExecutionDocument), (doc) => {
        assert.strictEqual(fast(doc), Canonical.stringifyIterative(doc))
      }),
      { numRuns: 300 }
    )
  })

  it("documents with inherited, hidden or undefined fields get the generic path's bytes", () => {
    const base = {
      pipelineName: "p",
      pipelineVersion: 1,
      pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4",
      status: "Succeeded"
    }
    const inherited = Object.assign(Object.create({ statusSummary: "from the prototype" }), base)
    const hidden = { ...base, extra: 1 }
    Object.defineProperty(hidden, "statusSummary", { value: "not enumerable", enumerable: false })
    const undefinedField = { ...base, statusSummary: undefined, extra: "x" }
    for (const value of [inherited, hidden, undefinedField]) {
      assert.strictEqual(
        ExecutionDocument.canonicalJson(value as ExecutionDocument.ExecutionDocument),
        Canonical.stringifyIterative(value)
      )
    }
  })

  it("orders array-index keys as objects do, and keeps odd keys and values", () => {
    // Keys an engine treats specially (array indexes come first, numerically) next to ones it does not.
    const key = fc.oneof(
      fc.constantFrom(
        "0",
        "1",
        "2",
        "10",
        "01",
        "-1",
        "1.5",
        "4294967294",
        "4294967295",
        "__proto__",
        "constructor",
        ""
      ),
      fc.string({ maxLength: 4 })
    )
    const leaf = fc.oneof(
      fc.jsonValue({ maxDepth: 1 }),
      fc.date({ noInvalidDate: true }),
      fc.constant(undefined),
      fc.double(),
      fc.bigInt()
    )
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("node")), fc.dictionary(key, tie("node")))
    })).node
    fc.assert(
      fc.property(tree, (value) => {
        assert.strictEqual(Canonical.stringify(value), Canonical.stringifyIterative(value))
      }),
      { numRuns: 1000 }
    )
    assert.strictEqual(
      Canonical.stringify({ b: 1, 10: 2, a: undefined, 2: [undefined, () => 1], "01": 3 }),
      '{"2":[null,null],"10":2,"01":3,"b":1}'
    )
  })
})
