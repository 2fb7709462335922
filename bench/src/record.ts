import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { Canonical, ExecutionDocument } from "@pipetrail/core"
import { Database } from "@pipetrail/store"
import { Effect, Redacted } from "effect"
import pg from "pg"
import copyStreams from "pg-copy-streams"
import {
  documents,
  fmt,
  freshDatabase,
  median,
  openStore,
  quick,
  results,
  run,
  runs,
  type StoreHandle,
  timed
} from "./harness.js"

// --- 2 & 3. recordMany vs COPY ---------------------------------------------------------------

/**
 * The baseline of items 2 and 3: what a client does to COPY the same rows into a table of the same
 * shape (columns, constraints and indexes of `execution_snapshot`): canonical JSON, hash and COPY
 * text per document, then one COPY. `copyOnly` is the COPY alone, into the same table.
 */
const copyBaseline = async (url: string, docs: ReadonlyArray<ExecutionDocument.ExecutionDocument>) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query("create table if not exists bench_copy (like execution_snapshot including all)")
    const rates: Array<number> = []
    const copyOnly: Array<number> = []
    const text = (v: string | undefined | null) =>
      v === undefined || v === null
        ? "\\N"
        : v.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r")
    for (let i = 0; i < runs; i++) {
      await client.query("truncate bench_copy")
      let lines: Array<string> = []
      const formatMs = await timed(() => {
        const now = new Date().toISOString()
        lines = docs.map((d, n) => {
          const json = ExecutionDocument.canonicalJson(d)
          return [
            n + 1,
            "bench",
            d.pipelineName,
            d.pipelineExecutionId,
            1,
            d.pipelineVersion,
            d.status,
            text(d.statusSummary),
            text(d.trigger?.triggerType),
            text(d.trigger?.triggerDetail),
            text(d.executionMode),
            text(d.executionType),
            text(d.rollbackMetadata?.rollbackTargetPipelineExecutionId),
            text(d.startTime?.toISOString()),
            text(d.lastUpdateTime?.toISOString()),
            text(json),
            "\\N",
            Canonical.sha256(json),
            now,
            now,
            1,
            "\\N",
            "\\N"
          ].join("\t")
        })
      })
      const copyMs = await timed(
        () =>
          new Promise<void>((resolve, reject) => {
            const stream = client.query(copyStreams.from("copy bench_copy from stdin"))
            stream.on("error", reject)
            stream.on("finish", () => resolve())
            stream.write(`${lines.join("\n")}\n`)
            stream.end()
          })
      )
      rates.push(docs.length / ((formatMs + copyMs) / 1000))
      copyOnly.push(docs.length / (copyMs / 1000))
    }
    return { rate: median(rates), copyOnly: median(copyOnly) }
  } finally {
    await client.end()
  }
}

/** A realistic mix: a third new executions, a third changed states, a third unchanged. */
const recordMix = async (handle: StoreHandle, count: number) => {
  const rates: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const source = `bench-${randomUUID()}`
    const existing = documents((2 * count) / 3, i + 10)
    const before = new Date()
    await run(handle.store.recordMany(existing.map((document) => ({ source, document, observedAt: before }))))
    const fresh = documents(count / 3, i + 100)
    const changed = existing
      .slice(0, count / 3)
      .map((d) => ({ ...d, status: "Failed" as never, statusSummary: "changed" }))
    const unchanged = existing.slice(count / 3)
    const observedAt = new Date(before.getTime() + 1000)
    const inputs = [...fresh, ...changed, ...unchanged].map((document) => ({ source, document, observedAt }))
    const batches = Array.from({ length: Math.ceil(inputs.length / 500) }, (_, n) =>
      inputs.slice(n * 500, n * 500 + 500)
    )
    const ms = await timed(() => run(Effect.forEach(batches, (b) => handle.store.recordMany(b), { discard: true })))
    rates.push(inputs.length / (ms / 1000))
  }
  return median(rates)
}

export const benchRecord = async () => {
  const count = quick ? 1_500 : 15_000
  const database = await freshDatabase()
  let copyRate: number | undefined
  if (database === undefined) {
    results.push({
      id: 2,
      name: "recordMany into PostgreSQL",
      value: "-",
      baseline: "-",
      target: "≥ 1.0×",
      holds: "skipped"
    })
  } else {
    const handle = await openStore(Database.layerPostgres({ url: Redacted.make(database.url) }))
    try {
      const copy = await copyBaseline(database.url, documents(count, 5))
      copyRate = copy.rate
      const rate = await recordMix(handle, count)
      results.push({
        id: 2,
        name: `recordMany into PostgreSQL (${count} snapshots: new, changed, unchanged; batches of 500)`,
        value: `${fmt(rate)} snapshots/s`,
        baseline: `COPY ${fmt(copy.rate)} rows/s (the COPY alone ${fmt(copy.copyOnly)})`,
        ratio: rate / copyRate,
        target: "≥ 1.0×",
        holds: rate / copyRate >= 1,
        details: { copyRowsPerSecond: copy.rate, copyAloneRowsPerSecond: copy.copyOnly }
      })
    } finally {
      await handle.close()
      await database.drop()
    }
  }
  // The embedded default as the CLI opens it: a data directory on disk. (In memory, PGlite's
  // in-memory file system copies a growing file on every extension and is slower.)
  const dataDir = join(mkdtempSync(join(tmpdir(), "pipetrail-bench-")), "store")
  const handle = await openStore(Database.layerPglite({ dataDir }))
  try {
    const rate = await recordMix(handle, count)
    results.push({
      id: 3,
      name: `recordMany into PGlite, data directory on disk (${count} snapshots)`,
      value: `${fmt(rate)} snapshots/s`,
      baseline: copyRate === undefined ? "PostgreSQL COPY: skipped" : `PostgreSQL COPY ${fmt(copyRate)} rows/s`,
      ...(copyRate === undefined ? {} : { ratio: rate / copyRate }),
      target: "≥ 0.6×",
      holds: copyRate === undefined ? "skipped" : rate / copyRate >= 0.6
    })
  } finally {
    await handle.close()
    rmSync(dirname(dataDir), { recursive: true, force: true })
  }
}
