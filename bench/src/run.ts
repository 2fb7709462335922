import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { SnapshotJob } from "@pipetrail/cli"
import { Canonical, CodePipeline, ExecutionDocument } from "@pipetrail/core"
import { Emulator, Scenario } from "@pipetrail/emulator"
import { executionDetail, executionSummary } from "@pipetrail/emulator/internal/wire"
import { Database, SnapshotStore } from "@pipetrail/store"
import { Context, Effect, Either, Exit, Layer, Logger, LogLevel, Redacted, Scope } from "effect"
import { sql } from "kysely"
import pg from "pg"
import copyStreams from "pg-copy-streams"

// The SDK's warning about Node.js versions after January 2027 is for the CLI to give, not the bench.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"

const quick = process.argv.includes("--quick")
const onlyIndex = process.argv.indexOf("--only")
/** `--only 4` (or `--only 1,4`) runs just those steps, by their first benchmark number. */
const only = onlyIndex === -1 ? undefined : new Set((process.argv[onlyIndex + 1] ?? "").split(",").map(Number))
const runs = quick ? 3 : 5
const adminUrl = process.env.PIPETRAIL_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

interface Result {
  readonly id: number
  readonly name: string
  readonly value: string
  readonly baseline: string
  readonly ratio?: number
  readonly target: string
  readonly holds: boolean | "skipped"
  readonly details?: Record<string, unknown>
}

const results: Array<Result> = []
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const percentile = (xs: ReadonlyArray<number>, p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
const timed = async (f: () => Promise<unknown> | unknown) => {
  const start = process.hrtime.bigint()
  await f()
  return Number(process.hrtime.bigint() - start) / 1e6
}
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`)

// --- data ---------------------------------------------------------------------------------------

/** Realistic execution payloads as the wire carries them (detail merged with its summary). */
const payloads = (count: number, seed = 1): Array<string> => {
  const pipelines = Math.max(1, Math.ceil(count / 100))
  const world = Scenario.generate({ seed, pipelines, executionsPerPipeline: Math.ceil(count / pipelines), running: 0 })
  return world.executions.slice(0, count).map((e) => {
    const merged = { ...executionSummary(e, world.now), ...executionDetail(e, world.now) }
    return JSON.stringify(merged)
  })
}

const documents = (count: number, seed = 1): Array<ExecutionDocument.ExecutionDocument> =>
  payloads(count, seed).map((p) => Either.getOrThrow(ExecutionDocument.decode(JSON.parse(p))))

const run = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.runPromise(effect.pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Error))))

// --- PostgreSQL ---------------------------------------------------------------------------------

const admin = async (statement: string) => {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

let postgresAvailable = true
const freshDatabase = async (): Promise<{ url: string; drop: () => Promise<void> } | undefined> => {
  if (!postgresAvailable) return undefined
  const name = `pipetrail_bench_${randomUUID().replaceAll("-", "")}`
  try {
    await admin(`create database ${name}`)
  } catch (error) {
    postgresAvailable = false
    log(
      `PostgreSQL unreachable at ${adminUrl.replace(/:[^:@/]*@/, ":***@")}: ${String(error)}; its benchmarks are skipped`
    )
    return undefined
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) }
}

interface StoreHandle {
  readonly store: SnapshotStore.SnapshotStoreService
  readonly db: Database.DatabaseService
  readonly close: () => Promise<void>
}

const openStore = async (layer: Layer.Layer<Database.Database, unknown>): Promise<StoreHandle> => {
  const scope = await Effect.runPromise(Scope.make())
  const full: Layer.Layer<Database.Database | SnapshotStore.SnapshotStore, unknown> = Layer.provideMerge(
    Layer.effect(SnapshotStore.SnapshotStore, SnapshotStore.make),
    layer
  )
  const context = await Effect.runPromise(Layer.buildWithScope(full, scope))
  return {
    store: Context.get(context, SnapshotStore.SnapshotStore),
    db: Context.get(context, Database.Database),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

// --- 1. decode ----------------------------------------------------------------------------------

const benchDecode = () => {
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

const benchRecord = async () => {
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

// --- 4. backfill against a throttled emulator ------------------------------------------------

const backfillLayers = (emulator: Emulator.Emulator, database: Layer.Layer<Database.Database, unknown>) =>
  Layer.mergeAll(
    CodePipeline.layer({
      endpoint: emulator.url,
      region: "us-east-1",
      credentials: { accessKeyId: "BENCH", secretAccessKey: Redacted.make("bench") }
    }),
    Layer.provideMerge(Layer.effect(SnapshotStore.SnapshotStore, SnapshotStore.make), database)
  )

const benchBackfill = async () => {
  const pipelines = quick ? 10 : 100
  const perPipeline = 100
  const total = pipelines * perPipeline
  const rate = 200
  const emulator = await Emulator.start({
    scenario: { seed: 4, pipelines, executionsPerPipeline: perPipeline, running: 0 },
    faults: { latency: 20, throttle: { rate, burst: 20 } }
  })
  const database = await freshDatabase()
  try {
    const layer = backfillLayers(
      emulator,
      database === undefined ? Database.layerPglite() : Database.layerPostgres({ url: Redacted.make(database.url) })
    )
    const names = emulator.pipelines().map((p) => p.name)
    const program = Effect.gen(function* () {
      const summary = yield* SnapshotJob.run({
        source: "bench",
        pipelines: names,
        concurrency: 8,
        batchSize: 100,
        incremental: false
      })
      const db = yield* Database.Database
      const stored = yield* db.use("count", (k) =>
        k
          .selectFrom("execution_head")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("source", "=", "bench")
          .executeTakeFirstOrThrow()
      )
      return { summary, stored: Number(stored.n) }
    })
    let outcome!: { summary: SnapshotJob.JobSummary; stored: number }
    const ms = await timed(async () => {
      outcome = await run(Effect.scoped(Effect.provide(program, layer)))
    })
    const stats = emulator.stats()
    const requests = Object.values(stats.requests).reduce((a, b) => a + b, 0)
    const needed = total + pipelines
    const bound = needed / rate
    const ratio = bound / (ms / 1000)
    const throttledShare = stats.throttled / requests
    const missing = total - outcome.stored
    results.push({
      id: 4,
      name: `backfill ${total} executions / ${pipelines} pipelines (20 ms latency, token bucket ${rate}/s the client is not told)`,
      value: `${fmt(total / (ms / 1000))} executions/s, ${fmt(throttledShare * 100, 1)}% throttled, ${missing} missing`,
      baseline: `bound ${fmt(total / bound)} executions/s (${needed} requests ÷ ${rate}/s)`,
      ratio,
      target: "≥ 0.9× bound, ≤ 5% throttled, 0 missing",
      holds: ratio >= 0.9 && throttledShare <= 0.05 && missing === 0,
      details: {
        seconds: ms / 1000,
        requests,
        throttled: stats.throttled,
        store: database === undefined ? "pglite" : "postgres"
      }
    })
  } finally {
    await emulator.close()
    await database?.drop()
  }
}

// --- 5. watch tick with nothing changed ----------------------------------------------------------

const benchWatchTick = async () => {
  const pipelines = quick ? 200 : 1000
  const emulator = await Emulator.start({ scenario: { seed: 5, pipelines, executionsPerPipeline: 1, running: 0 } })
  const database = await freshDatabase()
  let queries = 0
  const counting = { log: () => void queries++ }
  try {
    const layer = backfillLayers(
      emulator,
      database === undefined
        ? Database.layerPglite(counting)
        : Database.layerPostgres({ url: Redacted.make(database.url), ...counting })
    )
    const names = emulator.pipelines().map((p) => p.name)
    const job = { source: "bench", pipelines: names, concurrency: 8, batchSize: 100, incremental: true } as const
    await run(
      Effect.scoped(
        Effect.provide(
          Effect.gen(function* () {
            yield* SnapshotJob.run(job)
            emulator.resetStats()
            queries = 0
            yield* SnapshotJob.run(job)
          }),
          layer
        )
      )
    )
    const stats = emulator.stats()
    const lists = stats.requests.ListPipelineExecutions ?? 0
    const gets = stats.requests.GetPipelineExecution ?? 0
    results.push({
      id: 5,
      name: `watch tick over ${pipelines} pipelines, nothing changed`,
      value: `${lists} list calls, ${gets} get calls, ${queries} database round trips`,
      baseline: "—",
      target: `exactly ${pipelines} list calls, 0 get calls, ≤ 10 round trips`,
      holds: lists === pipelines && gets === 0 && queries <= 10
    })
  } finally {
    await emulator.close()
    await database?.drop()
  }
}

// --- 6 & 7. reads among many snapshots -----------------------------------------------------------

const benchReads = async () => {
  const executions = quick ? 10_000 : 100_000
  const states = 10
  const perPipeline = 1000
  // Enough samples that a p99 is not just the slowest one or two.
  const historySamples = quick ? 300 : 1000
  const listSamples = quick ? 60 : 200
  const database = await freshDatabase()
  if (database === undefined) {
    results.push({
      id: 6,
      name: "history of one execution",
      value: "-",
      baseline: "-",
      target: "p99 ≤ 5 ms",
      holds: "skipped"
    })
    results.push({
      id: 7,
      name: "latest state of 1,000 executions",
      value: "-",
      baseline: "-",
      target: "p99 ≤ 50 ms",
      holds: "skipped"
    })
    return
  }
  const handle = await openStore(Database.layerPostgres({ url: Redacted.make(database.url) }))
  try {
    const loadMs = await timed(async () => {
      await sql`
        insert into execution_snapshot (source, pipeline_name, pipeline_execution_id, seq, pipeline_version, status,
          trigger_type, start_time, last_update_time, document, content_hash, first_seen_at, last_seen_at)
        select 'bench', 'pipeline-' || (e / ${perPipeline}), x.id, s, 3,
          case when s = ${states} then 'Succeeded' else 'InProgress' end, 'Webhook',
          timestamptz '2026-01-01' + e * interval '1 minute', timestamptz '2026-01-01' + e * interval '1 minute' + s * interval '10 seconds',
          jsonb_build_object(
            'pipelineName', 'pipeline-' || (e / ${perPipeline}), 'pipelineVersion', 3, 'pipelineExecutionId', x.id,
            'status', case when s = ${states} then 'Succeeded' else 'InProgress' end,
            'trigger', jsonb_build_object('triggerType', 'Webhook', 'triggerDetail', 'arn:aws:codestar-connections:us-east-1:123456789012:connection/' || x.id),
            'executionMode', 'QUEUED', 'executionType', 'STANDARD',
            'startTime', to_char(timestamptz '2026-01-01' + e * interval '1 minute', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'artifactRevisions', jsonb_build_array(jsonb_build_object('name', 'SourceArtifact', 'revisionId', md5(x.id || 'a') || substr(md5(x.id), 1, 8),
              'revisionSummary', 'Fix race in retry loop number ' || e, 'revisionUrl', 'https://github.com/acme/repo/commit/' || md5(x.id))),
            'variables', jsonb_build_array(jsonb_build_object('name', 'BuildNumber', 'resolvedValue', (e * 10 + s)::text))),
          md5(x.id || s) || md5(x.id || s || 'x'),
          timestamptz '2026-01-01' + e * interval '1 minute' + s * interval '10 seconds',
          timestamptz '2026-01-01' + e * interval '1 minute' + s * interval '10 seconds'
        from generate_series(0, ${executions - 1}) e
        cross join lateral (select (md5(e::text)::uuid)::text as id) x
        cross join generate_series(1, ${states}) s
      `.execute(handle.db.kysely)
      await sql`
        insert into execution_head (source, pipeline_name, pipeline_execution_id, seq, snapshot_id, content_hash, status, start_time, changed_at)
        select source, pipeline_name, pipeline_execution_id, seq, id, content_hash, status, start_time, first_seen_at
        from execution_snapshot where seq = ${states}
      `.execute(handle.db.kysely)
      // A bulk load leaves hint bits and the visibility map unset until autovacuum runs, and
      // shared buffers full of dirty pages that a reader must write out before it can reuse one.
      // A store in use has had its vacuum and checkpoints, so the reads are measured after both.
      await sql`vacuum analyze`.execute(handle.db.kysely)
      await sql`checkpoint`.execute(handle.db.kysely)
    })
    const ids = (
      await sql<{
        id: string
      }>`select pipeline_execution_id as id from execution_head order by random() limit ${historySamples + 50}`.execute(
        handle.db.kysely
      )
    ).rows.map((r) => r.id)
    const historyMs: Array<number> = []
    for (const id of ids) historyMs.push(await timed(() => run(handle.store.history({ pipelineExecutionId: id }))))
    const measured = historyMs.slice(50)
    // The same executions again, their pages now in memory: how much of the tail is reading from disk.
    const again: Array<number> = []
    for (const id of ids.slice(50))
      again.push(await timed(() => run(handle.store.history({ pipelineExecutionId: id }))))
    results.push({
      id: 6,
      name: `history of one execution among ${fmt(executions * states)} snapshots (${fmt(executions)} executions × ${states} states)`,
      value: `p50 ${fmt(percentile(measured, 50), 2)} ms, p99 ${fmt(percentile(measured, 99), 2)} ms`,
      baseline: "—",
      target: "p99 ≤ 5 ms",
      holds: percentile(measured, 99) <= 5,
      details: {
        loadSeconds: loadMs / 1000,
        p90: percentile(measured, 90),
        p95: percentile(measured, 95),
        samples: measured.length,
        sameExecutionsAgain: { p50: percentile(again, 50), p99: percentile(again, 99) }
      }
    })
    const pipelines = executions / perPipeline
    const latestMs: Array<number> = []
    for (let i = 0; i < listSamples + 10; i++) {
      const pipelineName = `pipeline-${i % pipelines}`
      latestMs.push(
        await timed(async () => {
          const list = await run(handle.store.list({ pipelineName, limit: 1000 }))
          if (list.length !== perPipeline) throw new Error(`expected ${perPipeline} executions, got ${list.length}`)
        })
      )
    }
    const latest = latestMs.slice(10)
    results.push({
      id: 7,
      name: "latest state of the 1,000 executions of one pipeline (SnapshotStore.list, decoded), same data",
      value: `p50 ${fmt(percentile(latest, 50), 1)} ms, p99 ${fmt(percentile(latest, 99), 1)} ms`,
      baseline: "—",
      target: "p99 ≤ 50 ms",
      holds: percentile(latest, 99) <= 50
    })
  } finally {
    await handle.close()
    await database.drop()
  }
}

// --- 8. peak RSS of a backfill ------------------------------------------------------------------

const cli = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url))

const peakRss = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let peak = 0
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString()
    })
    const poll = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8")
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status)
        if (hwm !== null) peak = Math.max(peak, Number(hwm[1]) * 1024)
      } catch {
        // the process has exited
      }
    }, 10)
    child.on("close", (code) => {
      clearInterval(poll)
      if (code === 0) resolve(peak)
      else reject(new Error(`pipetrail ${args.join(" ")} exited ${code}: ${stderr}`))
    })
  })

const benchMemory = async () => {
  const sizes = quick ? [300, 1_500] : [1_000, 10_000]
  const peaks: Array<number> = []
  let baseline = 0
  for (const total of sizes) {
    const pipelines = Math.max(1, total / 100)
    const emulator = await Emulator.start({ scenario: { seed: 8, pipelines, executionsPerPipeline: 100, running: 0 } })
    const database = await freshDatabase()
    const env: Record<string, string> = {
      AWS_ACCESS_KEY_ID: "BENCH",
      AWS_SECRET_ACCESS_KEY: "bench",
      AWS_REGION: "us-east-1",
      PIPETRAIL_ENDPOINT_URL: emulator.url,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...(database === undefined
        ? { PIPETRAIL_DATA_DIR: join(mkdtempSync(join(tmpdir(), "pipetrail-bench-")), "store") }
        : { PIPETRAIL_DATABASE_URL: database.url })
    }
    try {
      baseline = Math.max(baseline, await peakRss(["db", "status"], env))
      peaks.push(
        await peakRss(
          ["snapshot", "--all-pipelines", "--source", "bench", "--rate", "2000", "--concurrency", "16"],
          env
        )
      )
    } finally {
      await emulator.close()
      await database?.drop()
    }
  }
  const mb = (n: number) => n / 1024 / 1024
  const above = peaks.map((p) => mb(p - baseline))
  results.push({
    id: 8,
    name: `peak RSS of a backfill (${sizes.map((s) => fmt(s)).join(" vs ")} executions)`,
    value: above.map((a, i) => `${fmt(sizes[i]!)}: +${fmt(a, 1)} MB`).join(", "),
    baseline: `process baseline (pipetrail db status) ${fmt(mb(baseline), 1)} MB`,
    target: "≤ 150 MB above baseline, flat as the count grows",
    holds: above.every((a) => a <= 150) && above[above.length - 1]! <= above[0]! * 1.5 + 10
  })
}

// --- main ---------------------------------------------------------------------------------------

const main = async () => {
  log(`mode: ${quick ? "quick" : "full"}, ${runs} runs per measured figure`)
  const steps: Array<[string, () => Promise<void> | void]> = [
    ["1 decode", benchDecode],
    ["2-3 recordMany", benchRecord],
    ["4 backfill", benchBackfill],
    ["5 watch tick", benchWatchTick],
    ["6-7 reads", benchReads],
    ["8 memory", benchMemory]
  ]
  for (const [name, step] of steps) {
    if (only !== undefined && !only.has(Number.parseInt(name, 10))) continue
    log(`running ${name}`)
    await step()
  }
  results.sort((a, b) => a.id - b.id)
  const table = [
    "| # | benchmark | result | baseline | ratio | target | holds |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...results.map(
      (r) =>
        `| ${r.id} | ${r.name} | ${r.value} | ${r.baseline} | ${r.ratio === undefined ? "—" : `${fmt(r.ratio, 2)}×`} | ${r.target} | ${r.holds === "skipped" ? "skipped" : r.holds ? "yes" : "**no**"} |`
    )
  ].join("\n")
  process.stdout.write(`${table}\n`)
  const dir = fileURLToPath(new URL("../results/", import.meta.url))
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, "latest.json"),
    `${JSON.stringify({ date: new Date().toISOString(), mode: quick ? "quick" : "full", node: process.version, results }, null, 2)}\n`
  )
  log(`wrote ${join(dir, "latest.json")}`)
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
