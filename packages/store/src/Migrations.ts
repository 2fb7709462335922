import { Effect } from "effect"
import { type Kysely, type MigrationResult, Migrator } from "kysely"
import { DatabaseError, fromCause } from "./DatabaseError.js"
import { migrations } from "./migrations/index.js"

/** One migration and whether it has been applied. */
export interface MigrationStatus {
  readonly name: string
  readonly executedAt: Date | undefined
}

const migrator = (db: Kysely<any>) =>
  new Migrator({ db, provider: { getMigrations: async () => migrations }, allowUnorderedMigrations: false })

/**
 * Applies every pending migration in one transaction under kysely's migration lock
 * (a PostgreSQL advisory lock), so concurrent callers apply each migration once.
 * Returns the names applied; fails with `DatabaseError` naming the migration that failed.
 */
export const migrateToLatest = (db: Kysely<any>): Effect.Effect<ReadonlyArray<string>, DatabaseError> =>
  Effect.tryPromise({
    try: () => migrator(db).migrateToLatest(),
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
          ...(base.detail === undefined ? {} : { detail: base.detail })
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
