import { randomUUID } from "node:crypto"
import { ExecutionDocument } from "@pipetrail/core"
import { Scenario } from "@pipetrail/emulator"
import { Database, SnapshotStore } from "@pipetrail/store"
import { Context, Effect, Either, Exit, Layer, Logger, LogLevel, Scope } from "effect"
import pg from "pg"
import { executionDetail, executionSummary } from "../../packages/emulator/dist/internal/wire.js"

// The SDK's warning about Node.js versions after January 2027 is for the CLI to give, not the bench.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"

export const quick = process.argv.includes("--quick")
export const onlyIndex = process.argv.indexOf("--only")
/** `--only 4` (or `--only 1,4`) runs just those steps, by their first benchmark number. */
export const only = onlyIndex === -1 ? undefined : new Set((process.argv[onlyIndex + 1] ?? "").split(",").map(Number))
export const runs = quick ? 3 : 5
export const adminUrl = process.env.PIPETRAIL_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

export interface Result {
  readonly id: number
  readonly name: string
  readonly value: string
  readonly baseline: string
  readonly ratio?: number
  readonly target: string
  readonly holds: boolean | "skipped"
  readonly details?: Record<string, unknown>
}

export const results: Array<Result> = []
export const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
export const percentile = (xs: ReadonlyArray<number>, p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!
export const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
export const timed = async (f: () => Promise<unknown> | unknown) => {
  const start = process.hrtime.bigint()
  await f()
  return Number(process.hrtime.bigint() - start) / 1e6
}
export const log = (message: string) => process.stderr.write(`[bench] ${message}\n`)

// --- data ---------------------------------------------------------------------------------------

/** Realistic execution payloads as the wire carries them (detail merged with its summary). */
export const payloads = (count: number, seed = 1): Array<string> => {
  const pipelines = Math.max(1, Math.ceil(count / 100))
  const world = Scenario.generate({ seed, pipelines, executionsPerPipeline: Math.ceil(count / pipelines), running: 0 })
  return world.executions.slice(0, count).map((e) => {
    const merged = { ...executionSummary(e, world.now), ...executionDetail(e, world.now) }
    return JSON.stringify(merged)
  })
}

export const documents = (count: number, seed = 1): Array<ExecutionDocument.ExecutionDocument> =>
  payloads(count, seed).map((p) => Either.getOrThrow(ExecutionDocument.decode(JSON.parse(p))))

export const run = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.runPromise(effect.pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Error))))

// --- PostgreSQL ---------------------------------------------------------------------------------

export const admin = async (statement: string) => {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

export let postgresAvailable = true
export const freshDatabase = async (): Promise<{ url: string; drop: () => Promise<void> } | undefined> => {
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

export interface StoreHandle {
  readonly store: SnapshotStore.SnapshotStoreService
  readonly db: Database.DatabaseService
  readonly close: () => Promise<void>
}

export const openStore = async (layer: Layer.Layer<Database.Database, unknown>): Promise<StoreHandle> => {
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
