import { randomUUID } from "node:crypto"
import { ExecutionDocument, Identifiers } from "@pipetrail/core"
import { Database, SnapshotStore } from "@pipetrail/store"
import { Effect, Either, FastCheck as fc, Layer, Redacted } from "effect"
import pg from "pg"

const ci = process.env.CI === "true" || process.env.CI === "1"
/** PostgreSQL for the store suite: required under CI, used whenever configured. */
export const postgresUrl =
  process.env.PIPETRAIL_TEST_DATABASE_URL ?? (ci ? "postgres://postgres@127.0.0.1:5432/test" : undefined)

const withDatabase = (url: string, database: string) => {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

const admin = async <A>(f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: postgresUrl })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/** A fresh PostgreSQL database for one suite, dropped afterwards; fails loudly when the server is unreachable. */
export const freshPostgresUrl = Effect.acquireRelease(
  Effect.tryPromise({
    try: async () => {
      const name = `pipetrail_test_${randomUUID().replaceAll("-", "")}`
      await admin((c) => c.query(`create database ${name}`))
      return { name, url: withDatabase(postgresUrl!, name) }
    },
    catch: (cause) =>
      new Error(`PostgreSQL at ${postgresUrl} is required for the store suite and unreachable: ${String(cause)}`)
  }).pipe(Effect.orDie),
  ({ name }) =>
    Effect.promise(() => admin((c) => c.query(`drop database if exists ${name} with (force)`)).catch(() => undefined))
)

/** The backends every store test runs on: PGlite always, PostgreSQL when configured (always in CI). */
export const backends: ReadonlyArray<{
  readonly name: string
  readonly database: Layer.Layer<Database.Database, never>
}> = [
  { name: "pglite", database: Database.layerPglite().pipe(Layer.orDie) },
  ...(postgresUrl === undefined
    ? []
    : [
        {
          name: "postgres",
          database: Layer.unwrapScoped(
            Effect.map(freshPostgresUrl, ({ url }) => Database.layerPostgres({ url: Redacted.make(url) }))
          ).pipe(Layer.orDie)
        }
      ])
]

if (ci && postgresUrl === undefined) throw new Error("CI must run the store suite against PostgreSQL")

/** Database and store over one backend. */
export const storeLayer = (database: Layer.Layer<Database.Database>) =>
  Layer.provideMerge(Layer.effect(SnapshotStore.SnapshotStore, SnapshotStore.make), database)

/** A source label unique to one test, so tests sharing a database never see each other's rows. */
export const freshSource = () => `test:${randomUUID()}`

let clock = Date.UTC(2026, 6, 1)
/** A later observation time at each call: for tests where only the order of observations matters. */
export const later = () => {
  clock += 1000
  return new Date(clock)
}

/** A random execution id. */
export const executionId = () => Identifiers.PipelineExecutionId.make(randomUUID())

const base = {
  pipelineName: "payments-api",
  pipelineVersion: 3,
  status: "InProgress",
  artifactRevisions: [
    {
      name: "SourceArtifact",
      revisionId: "9f2c7c8d0b3e4a1f8e6d5c4b3a291807f6e5d4c3",
      revisionSummary: "Fix race in retry loop",
      created: "2026-06-01T09:00:00.000Z",
      revisionUrl: "https://github.com/acme/payments/commit/9f2c7c8d0b3e4a1f8e6d5c4b3a291807f6e5d4c3"
    }
  ],
  variables: [{ name: "BuildNumber", resolvedValue: "1" }],
  trigger: {
    triggerType: "Webhook",
    triggerDetail: "arn:aws:codestar-connections:us-east-1:123456789012:connection/x"
  },
  executionMode: "QUEUED",
  executionType: "STANDARD",
  startTime: "2026-06-01T10:00:00.000Z",
  lastUpdateTime: "2026-06-01T10:00:00.000Z"
}

/** An execution document: a realistic base with `patch` applied (keys set to undefined are removed). */
export const doc = (id: string, patch: Record<string, unknown> = {}): ExecutionDocument.ExecutionDocument => {
  const merged: Record<string, unknown> = { ...base, pipelineExecutionId: id, ...patch }
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key]
  const result = ExecutionDocument.decode(merged)
  if (Either.isLeft(result)) throw new Error(result.left.message)
  return result.right
}

/** A pipeline name, branded as the store takes it (a bad one throws). */
export const pipelineName = (name: string) => Identifiers.PipelineName.make(name)

/** How a test writes generated observations: in what order, cut into which batches, by which of 4 writers, which batches again. */
export interface WriteScenario<O> {
  readonly observations: ReadonlyArray<O>
  readonly order: ReadonlyArray<number>
  readonly batchSizes: ReadonlyArray<number>
  readonly writers: ReadonlyArray<number>
  readonly retried: ReadonlyArray<boolean>
}

/** 1–14 generated observations with a write order, batch sizes (1–4), writers (0–3) and retried batches. */
export const writeScenario = <O>(observation: fc.Arbitrary<O>): fc.Arbitrary<WriteScenario<O>> =>
  fc.array(observation, { minLength: 1, maxLength: 14 }).chain((observations) => {
    const each = { minLength: observations.length, maxLength: observations.length }
    return fc.record({
      observations: fc.constant(observations),
      order: fc.shuffledSubarray(
        observations.map((_, i) => i),
        each
      ),
      batchSizes: fc.array(fc.integer({ min: 1, max: 4 }), each),
      writers: fc.array(fc.nat(3), each),
      retried: fc.array(fc.boolean(), each)
    })
  })

/** The scenario's inputs cut into its batches, in its order, each with its writer. */
export const batchesOf = <A>(scenario: WriteScenario<unknown>, inputs: ReadonlyArray<A>) => {
  const batches: Array<{ writer: number; items: Array<A> }> = []
  for (let i = 0, b = 0; i < scenario.order.length; b++) {
    const size = scenario.batchSizes[b]!
    batches.push({ writer: scenario.writers[b]!, items: scenario.order.slice(i, i + size).map((j) => inputs[j]!) })
    i += size
  }
  return batches
}
