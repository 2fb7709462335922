// Longer than most files here (~330 lines), on purpose: one service (a kysely handle, a read-only
// runner and redaction) with its two backends, PostgreSQL and embedded PGlite, and the one place
// that chooses between them. The embedded store's locking, sharing and checks live in `internal/`.
import { readFile, writeFile } from "node:fs/promises"
import { homedir } from "node:os"
import { join } from "node:path"
import { Config, type ConfigError, Context, Effect, Either, Layer, Option, Redacted } from "effect"
import { Kysely, type LogConfig, PostgresDialect, type Transaction } from "kysely"
import type pg from "pg"
import { type DatabaseError, fromCause } from "./DatabaseError.js"
import type { Tables as Schema } from "./DatabaseSchema.js"
import { openEmbedded } from "./internal/embedded.js"
import { cancelBackend } from "./internal/pgCancel.js"
import { PgliteDialect } from "./internal/pglite.js"
import { local, startParams } from "./internal/session.js"
import * as Migrations from "./Migrations.js"
import * as ReadOnlyQuery from "./ReadOnlyQuery.js"

/** A result set of `queryReadOnly`: column names and rows as arrays. */
export interface ReadOnlyResult {
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<unknown>>
}

/** Limits of a `queryReadOnly` call. */
export interface ReadOnlyOptions {
  /** `statement_timeout` in milliseconds (default 60,000). */
  readonly timeoutMs?: number
}

/** The role `sql` runs as when the store has it and the connection's user is a member (migration 0007). */
export const readerRole = "pipetrail_reader"

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
   * Runs one statement that `ReadOnlyQuery.check` allows, in a read-only transaction that is
   * always rolled back, as `pipetrail_reader` where it can, under statement, lock and idle
   * timeouts. Interruption cancels the statement on the server. Fails with `QueryRefusedError`
   * before the database sees a refused statement, `DatabaseError` for what the database refuses.
   */
  readonly queryReadOnly: (
    statement: string,
    options?: ReadOnlyOptions
  ) => Effect.Effect<ReadOnlyResult, DatabaseError | ReadOnlyQuery.QueryRefusedError>
  /**
   * The embedded store only: writes a consistent copy of the data directory (a gzipped tarball)
   * to a new file, owner-only; `restorePglite` reads it back. Fails if the file exists.
   */
  readonly backup?: (path: string) => Effect.Effect<void, DatabaseError>
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

/** Runs a statement with positional parameters, rows as arrays. */
type Run = (
  text: string,
  params?: ReadonlyArray<unknown>
) => Promise<{ readonly columns: ReadonlyArray<string>; readonly rows: Array<Array<unknown>> }>

/**
 * The read-only envelope around a checked statement, one definition for both backends: a
 * read-only snapshot transaction, standard-conforming strings (so the server reads quotes as the
 * checker did), the timeouts, and the reader role when this user may take it.
 */
const runReadOnly = async (run: Run, statement: string, timeoutMs: number): Promise<ReadOnlyResult> => {
  await run("begin transaction isolation level repeatable read read only")
  try {
    await run(
      `select set_config('standard_conforming_strings', 'on', true), set_config('statement_timeout', $1, true),
        set_config('lock_timeout', $2, true), set_config('idle_in_transaction_session_timeout', $3, true)`,
      [`${timeoutMs}`, `${Math.min(timeoutMs, 10_000)}`, `${timeoutMs + 10_000}`]
    )
    const member = await run(
      `select case when exists (select from pg_roles where rolname = $1)
        then pg_has_role(current_user, $1, 'MEMBER') else false end`,
      [readerRole]
    )
    if (member.rows[0]?.[0] === true) await run(`set local role ${readerRole}`)
    const result = await run(statement)
    return { columns: result.columns, rows: result.rows }
  } finally {
    await run("rollback").catch(() => undefined)
  }
}

const defaultTimeoutMs = 60_000

const make = (
  kind: DatabaseService["kind"],
  kysely: Kysely<Schema>,
  readOnly: (statement: string, timeoutMs: number, signal: AbortSignal) => Promise<ReadOnlyResult>,
  secrets: ReadonlyArray<string>
): DatabaseService => ({
  kind,
  kysely,
  use: (operation, f) =>
    Effect.tryPromise({ try: () => f(kysely), catch: (cause) => fromCause(operation, cause, secrets) }).pipe(
      Effect.withSpan("Database.use", { attributes: { "db.system": "postgresql", "db.backend": kind, operation } })
    ),
  transaction: (operation, f) =>
    Effect.tryPromise({
      try: () => kysely.transaction().execute(f),
      catch: (cause) => fromCause(operation, cause, secrets)
    }).pipe(
      Effect.withSpan("Database.transaction", {
        attributes: { "db.system": "postgresql", "db.backend": kind, operation }
      })
    ),
  queryReadOnly: (statement, options = {}) =>
    Effect.zipRight(
      ReadOnlyQuery.check(statement),
      Effect.tryPromise({
        try: (signal) => readOnly(statement, Math.max(1, Math.floor(options.timeoutMs ?? defaultTimeoutMs)), signal),
        catch: (cause) => fromCause("read-only query", cause, secrets)
      })
    ).pipe(
      Effect.withSpan("Database.queryReadOnly", {
        attributes: { "db.system": "postgresql", "db.backend": kind, "db.statement.length": statement.length }
      })
    )
})

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

/** A bigint as a number; past 2^53 a number would be wrong, so the query fails instead. */
const bigintAsNumber = (text: string): number => {
  const value = Number(text)
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} is past 2^53 and cannot be read as a number`)
  return value
}

/** The store on PostgreSQL through a pg pool; migrated on first use; the pool closes with the scope. */
export const layerPostgres = (options: PostgresOptions): Layer.Layer<Database, DatabaseError> =>
  Layer.scoped(
    Database,
    Effect.gen(function* () {
      const url = Redacted.value(options.url)
      const secrets = passwordOf(url)
      // The driver is loaded by the layer that uses it, not by importing the store.
      const { default: driver } = yield* Effect.promise(() => import("pg"))
      const pool = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const pool = new driver.Pool({
            connectionString: url,
            max: options.maxConnections ?? 10,
            connectionTimeoutMillis: 10_000,
            // The store's own queries read a bigint (its ids, counts) as a number, as PGlite does.
            types: {
              getTypeParser: ((oid: number, format?: "text" | "binary") =>
                oid === 20
                  ? bigintAsNumber
                  : driver.types.getTypeParser(oid, format)) as typeof driver.types.getTypeParser
            }
          })
          // A client whose backend was terminated emits "error": idle ones on the pool, checked-out
          // ones on themselves (the running query rejects too). Without listeners the process crashes.
          pool.on("error", () => undefined)
          pool.on("connect", (client) => client.on("error", () => undefined))
          return pool
        }),
        (pool) => Effect.promise(() => pool.end().catch(() => undefined))
      )
      const kysely = new Kysely<Schema>({
        dialect: new PostgresDialect({ pool }),
        ...(options.log === undefined ? {} : { log: options.log })
      })
      const readOnly = async (statement: string, timeoutMs: number, signal: AbortSignal) => {
        const client = await pool.connect()
        // Interruption (SIGINT, SIGTERM) sends a cancel request for the running statement.
        const cancel = () => void cancelBackend(client).catch(() => undefined)
        signal.addEventListener("abort", cancel, { once: true })
        try {
          // The extended protocol: the server itself takes exactly one statement.
          const run: Run = async (text, params = []) => {
            const config: pg.QueryArrayConfig & { readonly queryMode: "extended" } = {
              text,
              values: [...params],
              rowMode: "array",
              queryMode: "extended",
              // A user's SQL gets every bigint exactly, as text (PGlite's read-only queries too).
              types: driver.types
            }
            const result = await client.query(config)
            return { columns: result.fields.map((f) => f.name), rows: result.rows as Array<Array<unknown>> }
          }
          return await runReadOnly(run, statement, timeoutMs)
        } finally {
          signal.removeEventListener("abort", cancel)
          client.release(true)
        }
      }
      return yield* migrated(make("postgres", kysely, readOnly, secrets), options)
    })
  )

/** Options of `layerPglite`. */
export interface PgliteOptions extends CommonOptions {
  /**
   * Where the embedded database lives (created owner-only); omit for an in-memory database. One
   * process holds it (a lock that dies with the process) and serves it to the others, which work
   * through the holder's session with every store guarantee; where it cannot be served (not Linux,
   * a restore) another opener fails with a `DatabaseError` of code `STORE_IN_USE` naming the
   * holder's pid. A non-empty directory that is not a store is refused (`NOT_A_STORE`), and a store
   * that cannot be opened fails with `STORE_DAMAGED`, never re-initialized.
   */
  readonly dataDir?: string
  /** Load PostgreSQL's `amcheck` extension (for `StoreCheck`'s page checks); off by default. */
  readonly amcheck?: boolean
}

/** The default data directory of the embedded store: `$XDG_DATA_HOME/pipetrail` or `~/.local/share/pipetrail`. */
export const defaultDataDir = (): string =>
  join(process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "pipetrail", "pglite")

const openPglite = (options: PgliteOptions, loadDataDir?: Blob) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const extensions =
          options.amcheck === true
            ? { amcheck: (await import("@electric-sql/pglite/contrib/amcheck")).amcheck }
            : undefined
        if (options.dataDir === undefined) {
          const { PGlite } = await import("@electric-sql/pglite")
          const pglite = await PGlite.create({
            startParams: startParams(PGlite),
            ...(extensions === undefined ? {} : { extensions }),
            ...(loadDataDir === undefined ? {} : { loadDataDir })
          })
          return { session: local(pglite), close: () => (pglite.closed ? Promise.resolve() : pglite.close()) }
        }
        return openEmbedded(options.dataDir, {
          ...(extensions === undefined ? {} : { extensions }),
          ...(loadDataDir === undefined ? {} : { loadDataDir })
        })
      },
      catch: (cause) =>
        fromCause(`open embedded store${options.dataDir === undefined ? "" : ` at ${options.dataDir}`}`, cause)
    }),
    (embedded) => Effect.promise(() => embedded.close().catch(() => undefined))
  )

/** The service over an embedded store opened with `options`, or in memory from `image`. */
const pgliteService = (options: PgliteOptions, image?: Blob) =>
  Effect.gen(function* () {
    const { session } = yield* openPglite(options, image)
    const kysely = new Kysely<Schema>({
      dialect: new PgliteDialect(session),
      ...(options.log === undefined ? {} : { log: options.log })
    })
    // Inside `kysely.connection()` this process holds the store's one session.
    const readOnly = (statement: string, timeoutMs: number) =>
      kysely.connection().execute(() =>
        runReadOnly(
          async (text, params = []) => {
            const result = await session.query<Array<unknown>>(text, params, "array")
            return { columns: result.fields.map((f) => f.name), rows: result.rows }
          },
          statement,
          timeoutMs
        )
      )
    const service = make("pglite", kysely, readOnly, [])
    const dump = () => kysely.connection().execute(() => session.dump())
    const backup = (path: string) =>
      Effect.tryPromise({
        try: async () => writeFile(path, await dump(), { mode: 0o600, flag: "wx" }),
        catch: (cause) => fromCause(`back up the embedded store to ${path}`, cause)
      })
    return { service: yield* migrated({ ...service, backup }, options), dump }
  })

/**
 * The store embedded in-process on PGlite (PostgreSQL compiled to WASM); same schema and queries.
 * With a `dataDir` another process may hold: then this one is served through the holder.
 */
export const layerPglite = (options: PgliteOptions = {}): Layer.Layer<Database, DatabaseError> =>
  Layer.scoped(
    Database,
    Effect.map(pgliteService(options), ({ service }) => service)
  )

/** The migrated, empty in-memory store every `layerTest` starts from: made once per process. */
let testImage: Promise<Either.Either<Blob, DatabaseError>> | undefined

const makeTestImage = Effect.scoped(
  Effect.flatMap(pgliteService({}), ({ dump }) =>
    Effect.tryPromise({
      try: async () => new Blob([await dump()]),
      catch: (cause) => fromCause("prepare the test store", cause)
    })
  )
)

/**
 * A fresh, empty, migrated store in memory, for unit tests: the first one in a process is migrated
 * and copied (a few seconds); every one after starts from that copy (~0.3 s). Each is a store of
 * its own, gone with its scope.
 */
export const layerTest = (options: CommonOptions = {}): Layer.Layer<Database, DatabaseError> =>
  Layer.scoped(
    Database,
    Effect.gen(function* () {
      // A failed attempt is not kept: the next layer tries again.
      if (testImage === undefined) {
        testImage = Effect.runPromise(Effect.either(makeTestImage)).then((made) => {
          if (Either.isLeft(made)) testImage = undefined
          return made
        })
      }
      const pending = testImage
      const image = yield* Effect.flatten(Effect.promise(() => pending))
      return (yield* pgliteService(options, image)).service
    })
  )

/**
 * Restores a backup made by `backup` (a gzipped tarball of the data directory) into `dataDir`,
 * which must be new or empty; the restored store is opened once, to prove it starts, and closed.
 */
export const restorePglite = (file: string, dataDir: string): Effect.Effect<void, DatabaseError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const bytes = yield* Effect.tryPromise({
        try: () => readFile(file),
        catch: (cause) => fromCause(`read backup ${file}`, cause)
      })
      yield* openPglite({ dataDir }, new Blob([new Uint8Array(bytes)]))
    })
  )

/** Which store: a PostgreSQL URL, else the embedded store in a data directory. */
export interface Selection extends CommonOptions {
  readonly url: Option.Option<Redacted.Redacted<string>>
  /** The embedded store's directory when there is no URL (default `defaultDataDir()`). */
  readonly dataDir: Option.Option<string>
  /** Load the page checks into the embedded store (see `PgliteOptions.amcheck`). */
  readonly amcheck?: boolean
}

/** The store a selection names: PostgreSQL when a URL is given, else the embedded store. */
export const layerSelected = ({ url, dataDir, amcheck, ...common }: Selection): Layer.Layer<Database, DatabaseError> =>
  Option.match(url, {
    onSome: (url) => layerPostgres({ ...common, url }),
    onNone: () =>
      layerPglite({
        ...common,
        dataDir: Option.getOrElse(dataDir, defaultDataDir),
        ...(amcheck === undefined ? {} : { amcheck })
      })
  })

/** Which store `layerConfig` opens: PostgreSQL at `url`, else the embedded store in `dataDir`. */
export interface StoreConfig {
  readonly url?: Redacted.Redacted<string>
  /** The embedded store's directory when there is no `url` (default `defaultDataDir()`). */
  readonly dataDir?: string
}

/** What `layerConfig` reads when given nothing: `PIPETRAIL_DATABASE_URL` (redacted) and `PIPETRAIL_DATA_DIR`, both optional. */
export const defaultConfig: Config.Config<StoreConfig> = Config.all({
  url: Config.option(Config.redacted("PIPETRAIL_DATABASE_URL")),
  dataDir: Config.option(Config.string("PIPETRAIL_DATA_DIR"))
}).pipe(
  Config.map(
    ({ url, dataDir }): StoreConfig => ({
      ...Option.match(url, { onNone: () => ({}), onSome: (url) => ({ url }) }),
      ...Option.match(dataDir, { onNone: () => ({}), onSome: (dataDir) => ({ dataDir }) })
    })
  )
)

/**
 * The store from `Config`, as `@effect/sql-pg`'s `layerConfig`: a URL selects PostgreSQL; without
 * one, the embedded store in `dataDir` (default `defaultDataDir()`). Pass `Config`s of your own
 * (`{ url: Config.redacted("DATABASE_URL") }`), or nothing for `defaultConfig`.
 */
export const layerConfig = (
  config: Config.Config.Wrap<StoreConfig> = defaultConfig
): Layer.Layer<Database, DatabaseError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(Config.unwrap(config), ({ url, dataDir }) =>
      layerSelected({ url: Option.fromNullable(url), dataDir: Option.fromNullable(dataDir) })
    )
  )
