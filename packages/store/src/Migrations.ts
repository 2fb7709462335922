import { Effect } from "effect"
import { type Kysely, type MigrationResult, type MigrationResultSet, Migrator, sql } from "kysely"
import { DatabaseError, fromCause } from "./DatabaseError.js"
import { migrations } from "./migrations/index.js"

/** One migration and whether it has been applied. */
export interface MigrationStatus {
  readonly name: string
  readonly executedAt: Date | undefined
}

const migrator = (db: Kysely<any>) =>
  new Migrator({ db, provider: { getMigrations: async () => migrations }, allowUnorderedMigrations: false })

const known = Object.keys(migrations).sort()

/**
 * Whether every known migration, and nothing else, has been applied, in one query. Migrations
 * apply in order and in one transaction, so the count and the last name say it. Anything else
 * (pending or unknown migrations, an error) is "not sure": kysely's migrator decides, under its
 * lock. On a new database the query fails for want of the table (PostgreSQL logs that error once)
 * and the migrator creates it. kysely's own check introspects the catalog and takes the lock: five
 * round trips and a catalog scan for every command on an up-to-date store (~25 ms).
 */
const upToDate = (db: Kysely<any>): Promise<boolean> =>
  sql<{ n: number; last: string | null }>`select count(*)::int as n, max(name) as last from kysely_migration`
    .execute(db)
    .then(
      ({ rows: [row] }) => row?.n === known.length && row.last === known.at(-1),
      () => false
    )

/**
 * Applies every pending migration in one transaction under kysely's migration lock
 * (a PostgreSQL advisory lock), so concurrent callers apply each migration once.
 * Returns the names applied; fails with `DatabaseError` naming the migration that failed.
 */
export const migrateToLatest = (db: Kysely<any>): Effect.Effect<ReadonlyArray<string>, DatabaseError> =>
  Effect.tryPromise({
    try: async (): Promise<MigrationResultSet> =>
      (await upToDate(db)) ? { results: [] } : migrator(db).migrateToLatest(),
    catch: (cause) => fromCause("migrate", cause)
  }).pipe(
    Effect.flatMap(({ error, results }) => {
      if (error === undefined) {
        return Effect.succeed((results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName))
      }
      const failed = (results ?? []).find((r: MigrationResult) => r.status === "Error")
      const base = fromCause("migrate", error)
      return Effect.fail(
        new DatabaseError({
          operation: failed === undefined ? "migrate" : `migrate ${failed.migrationName}`,
          message: base.message,
          ...(base.code === undefined ? {} : { code: base.code }),
          ...(base.detail === undefined ? {} : { detail: base.detail }),
          ...(base.cause === undefined ? {} : { cause: base.cause })
        })
      )
    })
  )

/** Applies pending migrations up to and including `name` (for tests of upgrades); returns the names applied. */
export const migrateTo = (db: Kysely<any>, name: string): Effect.Effect<ReadonlyArray<string>, DatabaseError> =>
  Effect.tryPromise({
    try: () => migrator(db).migrateTo(name),
    catch: (cause) => fromCause(`migrate to ${name}`, cause)
  }).pipe(
    Effect.flatMap(({ error, results }) =>
      error === undefined
        ? Effect.succeed((results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName))
        : Effect.fail(fromCause(`migrate to ${name}`, error))
    )
  )

/** Every known migration with the time it was applied, if it was. */
export const status = (db: Kysely<any>): Effect.Effect<ReadonlyArray<MigrationStatus>, DatabaseError> =>
  Effect.tryPromise({
    try: () => migrator(db).getMigrations(),
    catch: (cause) => fromCause("migration status", cause)
  }).pipe(Effect.map((list) => list.map((m) => ({ name: m.name, executedAt: m.executedAt }))))
