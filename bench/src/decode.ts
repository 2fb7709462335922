import { Canonical, ExecutionDocument } from "@pipetrail/core"
import { Either } from "effect"
import { fmt, median, payloads, quick, results, runs } from "./harness.js"

// --- 1. decode ----------------------------------------------------------------------------------

export const benchDecode = () => {
  const count = quick ? 5_000 : 50_000
  const input = payloads(count)
  const bytes = input.reduce((n, p) => n + p.length, 0) / input.length
  const baseline: Array<number> = []
  const target: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const b = process.hrtime.bigint()
    for (const p of input) JSON.parse(p)
    baseline.push(count / (Number(process.hrtime.bigint() - b) / 1e9))
    const t = process.hrtime.bigint()
    for (const p of input) {
      const doc = Either.getOrThrow(ExecutionDocument.decode(JSON.parse(p)))
      Canonical.sha256(ExecutionDocument.canonicalJson(doc))
    }
    target.push(count / (Number(process.hrtime.bigint() - t) / 1e9))
  }
  const ratio = median(target) / median(baseline)
  results.push({
    id: 1,
    name: `decode + canonical encode + hash (${count} docs, ~${fmt(bytes)} B)`,
    value: `${fmt(median(target))} docs/s`,
    baseline: `JSON.parse ${fmt(median(baseline))} docs/s`,
    ratio,
    target: "≥ 0.25×",
    holds: ratio >= 0.25
  })
}
