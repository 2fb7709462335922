import { chmod, mkdir } from "node:fs/promises"
import { homedir } from "node:os"
import { join } from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { Config, type ConfigError, Context, Effect, Layer, Option, Redacted } from "effect"
import { Kysely, type LogConfig, PostgresDialect, type Transaction } from "kysely"
import pg from "pg"
import { type DatabaseError, fromCause } from "./DatabaseError.js"
import type { Database as Schema } from "./DatabaseSchema.js"
import { PgliteDialect } from "./internal/pglite.js"
import * as Migrations from "./Migrations.js"

/** A result set of `queryReadOnly`: column names and rows as arrays. */
export interface ReadOnlyResult {
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<unknown>>
}

/** The store's database: a typed kysely instance behind helpers that fail only with `DatabaseError`. */
export interface DatabaseService {
  readonly kind: "postgres" | "pglite"
  /** The typed kysely instance, for your own queries. */
  readonly kysely: Kysely<Schema>
  /** Runs `f` against the database; any rejection becomes a `DatabaseError` tagged with `operation`. */
  readonly use: <A>(operation: string, f: (db: Kysely<Schema>) => Promise<A>) => Effect.Effect<A, DatabaseError>
  /** Runs `f` in one transaction: all of it commits, or none of it. */
  readonly transaction: <A>(
    operation: string,
    f: (trx: Transaction<Schema>) => Promise<A>
  ) => Effect.Effect<A, DatabaseError>
  /**
   * Runs one SQL statement in a read-only transaction that is always rolled back. Several
   * statements, and anything that writes, are refused by the database.
   */
  readonly queryReadOnly: (statement: string) => Effect.Effect<ReadOnlyResult, DatabaseError>
}

/** The store's database. */
export class Database extends Context.Tag("@pipetrail/store/Database")<Database, DatabaseService>() {}

/** Options of every database layer. */
export interface CommonOptions {
  /** Apply pending migrations when the layer is built (default true). */
  readonly migrate?: boolean
  /** kysely's query log: a callback that sees every query and its duration. */
  readonly log?: LogConfig
}

const make = (
  kind: DatabaseService["kind"],
  kysely: Kysely<Schema>,
  readOnly: (statement: string) => Promise<ReadOnlyResult>,
  secrets: ReadonlyArray<string>
): DatabaseService => ({
  kind,
  kysely,
  use: (operation, f) =>
    Effect.tryPromise({ try: () => f(kysely), catch: (cause) => fromCause(operation, cause, secrets) }),
  transaction: (operation, f) =>
    Effect.tryPromise({
      try: () => kysely.transaction().execute(f),
      catch: (cause) => fromCause(operation, cause, secrets)
    }),
  queryReadOnly: (statement) =>
    Effect.tryPromise({
      try: () => readOnly(statement),
      catch: (cause) => fromCause("read-only query", cause, secrets)
    })
})

const readOnlyStart = /^\s*(select|with|values|table|explain|show)\b/i

/** Refuses, before the database sees it, anything that does not start like a query. */
const assertReadOnlyStatement = (statement: string): void => {
  const withoutComments = statement.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, " ")
  if (!readOnlyStart.test(withoutComments)) {
    throw Object.assign(
      new Error("only one read-only query is allowed: SELECT, WITH, VALUES, TABLE, EXPLAIN or SHOW"),
      { code: "25006" }
    )
  }
}

const migrated = (service: DatabaseService, options: CommonOptions) =>
  options.migrate === false ? Effect.succeed(service) : Effect.as(Migrations.migrateToLatest(service.kysely), service)

const passwordOf = (url: string): ReadonlyArray<string> => {
  try {
    const password = decodeURIComponent(new URL(url).password)
    return password.length > 0 ? [password, encodeURIComponent(password)] : []
  } catch {
    return []
  }
}

/** Options of `layerPostgres`. */
export interface PostgresOptions extends CommonOptions {
  /** `postgres://user:password@host:port/database`; stays redacted until the driver gets it. */
  readonly url: Redacted.Redacted<string>
  /** Pool size (default 10). */
  readonly maxConnections?: number
}

/** The store on PostgreSQL through a pg pool; migrated on first use; the pool closes with the scope. */
export const layerPostgres = (options: PostgresOptions): Layer.Layer<Database, DatabaseError> =>
  Layer.scoped(
    Database,
    Effect.gen(function* () {
      const url = Redacted.value(options.url)
      const secrets = passwordOf(url)
      const pool = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const pool = new pg.Pool({
            connectionString: url,
            max: options.maxConnections ?? 10,
            connectionTimeoutMillis: 10_000
          })
          // An idle client whose backend was terminated emits here; the next query reconnects.
          pool.on("error", () => undefined)
          return pool
        }),
        (pool) => Effect.promise(() => pool.end().catch(() => undefined))
      )
      const kysely = new Kysely<Schema>({
        dialect: new PostgresDialect({ pool }),
        ...(options.log === undefined ? {} : { log: options.log })
      })
      const readOnly = async (statement: string): Promise<ReadOnlyResult> => {
        assertReadOnlyStatement(statement)
        const client = await pool.connect()
        try {
          await client.query("begin transaction read only")
          // A named statement goes through the extended protocol: exactly one statement.
          const result = await client.query({ name: `pipetrail_ro_${Date.now()}`, text: statement, rowMode: "array" })
          return { columns: result.fields.map((f) => f.name), rows: result.rows as Array<Array<unknown>> }
        } finally {
          await client.query("rollback").catch(() => undefined)
          client.release(true)
        }
      }
      return yield* migrated(make("postgres", kysely, readOnly, secrets), options)
    })
  )

/** Options of `layerPglite`. */
export interface PgliteOptions extends CommonOptions {
  /** Where the embedded database lives (created owner-only); omit for an in-memory database. */
  readonly dataDir?: string
}

/** The default data directory of the embedded store: `$XDG_DATA_HOME/pipetrail` or `~/.local/share/pipetrail`. */
export const defaultDataDir = (): string =>
  join(process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "pipetrail", "pglite")

/** The store embedded in-process on PGlite (PostgreSQL compiled to WASM); same schema and queries. */
export const layerPglite = (options: PgliteOptions = {}): Layer.Layer<Database, DatabaseError> =>
  Layer.scoped(
    Database,
    Effect.gen(function* () {
      const dataDir = options.dataDir
      const pglite = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            if (dataDir !== undefined) {
              await mkdir(dataDir, { recursive: true, mode: 0o700 })
              await chmod(dataDir, 0o700)
            }
            return PGlite.create(dataDir === undefined ? undefined : dataDir)
          },
          catch: (cause) => fromCause(`open embedded store${dataDir === undefined ? "" : ` at ${dataDir}`}`, cause)
        }),
        (db) => Effect.promise(() => (db.closed ? Promise.resolve() : db.close().catch(() => undefined)))
      )
      const kysely = new Kysely<Schema>({
        dialect: new PgliteDialect(pglite),
        ...(options.log === undefined ? {} : { log: options.log })
      })
      const readOnly = (statement: string) =>
        // Holding kysely's connection serializes this with every other query on the single PGlite session.
        kysely
          .connection()
          .execute(async () => {
            assertReadOnlyStatement(statement)
            await pglite.exec("begin transaction read only")
            try {
              const result = await pglite.query<Array<unknown>>(statement, [], { rowMode: "array" })
              return { columns: result.fields.map((f) => f.name), rows: result.rows }
            } finally {
              await pglite.exec("rollback")
            }
          })
      return yield* migrated(make("pglite", kysely, readOnly, []), options)
    })
  )

/**
 * The store from configuration: `PIPETRAIL_DATABASE_URL` selects PostgreSQL; without it the
 * embedded PGlite store in `PIPETRAIL_DATA_DIR` (default `defaultDataDir()`).
 */
export const layerConfig: Layer.Layer<Database, DatabaseError | ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.gen(function* () {
    const url = yield* Config.option(Config.redacted("PIPETRAIL_DATABASE_URL"))
    const dataDir = yield* Config.option(Config.string("PIPETRAIL_DATA_DIR"))
    return Option.match(url, {
      onSome: (url) => layerPostgres({ url }),
      onNone: () => layerPglite({ dataDir: Option.getOrElse(dataDir, defaultDataDir) })
    })
  })
)
