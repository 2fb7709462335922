import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { Database, Migrations } from "@pipetrail/store"
import { Effect, FastCheck as fc, Redacted } from "effect"
import { sql } from "kysely"
import { migrations } from "../src/migrations/index.js"
import { freshPostgresUrl, postgresUrl } from "./utils.js"

// Invariant: a migration that has landed is never edited (a user's store ran it already; a change
// would never reach them, or would run differently on a new store). Each landed migration's source
// is pinned by its hash; a new migration is added here when it lands.

const landed: Record<string, string> = {
  "0001_snapshots": "975aad6328e58427c69643c41a575ab9ac4c8f3da8f4ed793919d3f9552b6047",
  "0002_views": "4b24d6fdf9a639ba8ce4a41f0944a7f117f11d17c8b1d7a07a5fd40fc2a78bca",
  "0003_lookup_indexes": "3349a2ab228b127f9cc07296ce89e7ada8bb31881e8bbccd17ff8e348704361b",
  "0004_head_changed_at": "5fbe5fb0286e8f05c553c040ee9aacc8969fb390c42d1ad35fb2873e956a8fb4",
  "0005_head_list_index": "8610d35cab0ccce451aaaffa06ff4cbc2181ac70a42588226d09ec5d8d0e4784",
  "0006_snapshot_trigger_when": "065439887b772c2a7417a1ce73e81e282dd2ae39c682b30477bd094a6368d4d5",
  "0007_reader_role": "d8fcbc1c0214875f4b954072a9f7adf62adbee6736f17d713dfa5db15f627659",
  "0008_rejected_response_http": "d77b02a62f53ef0850d50e93fb51e702828ac20d1f82b2c15581dba90d7a0d59",
  "0009_observation_order": "21d5cb97e241a5b217ce6236ab7c39983da6bd5858bc486e8b354d775941095f",
  "0010_action_history": "2b2eb93cd12b1312c77f1827a4af6a6d2400065a652269f18aaae3a69019d34a"
}

const directory = new URL("../src/migrations/", import.meta.url)

describe("migrations", () => {
  it("a landed migration is never edited", () => {
    const files = readdirSync(directory).filter((f) => /^\d{4}_.*\.ts$/.test(f))
    for (const [name, hash] of Object.entries(landed)) {
      const source = readFileSync(new URL(`${name}.ts`, directory))
      assert.strictEqual(
        createHash("sha256").update(source).digest("hex"),
        hash,
        `${name} changed after it landed: add a new migration instead`
      )
    }
    // Every migration file is pinned (a new one is added above when it lands), and none was removed.
    assert.deepStrictEqual(files.map((f) => f.replace(/\.ts$/, "")).sort(), Object.keys(landed).sort())
  })
})

// Invariant: whatever prefix of the migrations a store has, migrateToLatest applies exactly the rest,
// once, and a store it calls up to date has every migration and nothing else; a store with a
// migration this build does not know is refused, not called up to date.
describe.skipIf(postgresUrl === undefined)("migrating a store from any earlier state, on PostgreSQL", () => {
  const names = Object.keys(migrations).sort()
  const onFreshDatabase = <A, E>(f: (db: Database.DatabaseService) => Effect.Effect<A, E>) =>
    Effect.scoped(
      Effect.gen(function* () {
        const { url } = yield* freshPostgresUrl
        return yield* Effect.flatMap(Database.Database, f).pipe(
          Effect.provide(Database.layerPostgres({ url: Redacted.make(url), migrate: false }))
        )
      })
    )

  it.live(
    "applies exactly the pending migrations, then nothing",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.nat(names.length), (applied) =>
            Effect.runPromise(
              onFreshDatabase((db) =>
                Effect.gen(function* () {
                  if (applied > 0) yield* Migrations.migrateTo(db.kysely, names[applied - 1]!)
                  assert.deepStrictEqual(yield* Migrations.migrateToLatest(db.kysely), names.slice(applied))
                  assert.deepStrictEqual(yield* Migrations.migrateToLatest(db.kysely), [])
                  const status = yield* Migrations.status(db.kysely)
                  assert.deepStrictEqual(
                    status.filter((m) => m.executedAt !== undefined).map((m) => m.name),
                    names
                  )
                })
              )
            )
          ),
          { numRuns: 4, examples: [[0], [names.length]] }
        )
      ),
    { timeout: 120_000 }
  )

  it.live(
    "refuses a store that has a migration this build does not know",
    () =>
      onFreshDatabase((db) =>
        Effect.gen(function* () {
          yield* Migrations.migrateToLatest(db.kysely)
          yield* Effect.promise(() =>
            sql`insert into kysely_migration (name, timestamp) values ('9999_from_a_newer_pipetrail', now()::text)`.execute(
              db.kysely
            )
          )
          const error = yield* Effect.flip(Migrations.migrateToLatest(db.kysely))
          assert.strictEqual(error._tag, "DatabaseError")
          assert.include(error.message, "9999_from_a_newer_pipetrail")
        })
      ),
    { timeout: 60_000 }
  )
})
