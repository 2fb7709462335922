import { Args, Command } from "@effect/cli"
import { Database, Migrations, StoreCheck } from "@pipetrail/store"
import { Effect, Layer, Option } from "effect"
import { databaseLayer, type Globals, globalOptions, loggerLayer } from "../Global.js"
import { StoreDamaged, UsageError } from "../internal/errors.js"
import * as Output from "../Output.js"

const dataDirOf = (c: Globals) => Option.getOrElse(c.dataDir, Database.defaultDataDir)

/** The store without migrating it (the db commands decide), with page checks loaded where asked. */
const unmigrated = (c: Globals, options: { readonly amcheck?: boolean } = {}) =>
  Layer.merge(databaseLayer(c, { migrate: false, ...options }), loggerLayer(c))

const migrate = Command.make("migrate", globalOptions, (c) =>
  Effect.gen(function* () {
    const db = yield* Database.Database
    const applied = yield* Migrations.migrateToLatest(db.kysely)
    return yield* Output.print(c.output, {
      columns: ["applied"],
      rows: applied.length === 0 ? [] : applied.map((name) => [name])
    })
  })
).pipe(
  Command.withDescription(
    "Apply pending migrations (every other command does this on first use).\n\nExample: pipetrail db migrate --database-url postgres://pipetrail@localhost/pipetrail"
  ),
  Command.provide((c) => unmigrated(c))
)

const status = Command.make("status", globalOptions, (c) =>
  Effect.gen(function* () {
    const db = yield* Database.Database
    const list = yield* Migrations.status(db.kysely)
    return yield* Output.print(c.output, {
      columns: ["migration", "applied_at"],
      rows: list.map((m) => [m.name, m.executedAt ?? "pending"])
    })
  })
).pipe(
  Command.withDescription("List migrations and when each was applied.\n\nExample: pipetrail db status"),
  Command.provide((c) => unmigrated(c))
)

const check = Command.make("check", globalOptions, (c) =>
  Effect.gen(function* () {
    const results = yield* StoreCheck.run
    yield* Output.print(c.output, {
      columns: ["check", "result", "problems", "detail"],
      rows: results.map((r) => [
        r.check,
        r.skipped !== undefined ? "skipped" : r.problems === 0 ? "ok" : "FAILED",
        r.problems,
        r.skipped ?? r.detail
      ])
    })
    const problems = results.reduce((sum, r) => sum + r.problems, 0)
    if (problems > 0) return yield* new StoreDamaged({ problems })
  })
).pipe(
  Command.withDescription(
    [
      "Verify the store: PostgreSQL's page and index checks (amcheck) where available, then the store's",
      "own invariants (heads, seq without gaps, table and index agree, document hashes). Exit 1 on damage.",
      "",
      "Example: pipetrail db check"
    ].join("\n")
  ),
  Command.provide((c) => unmigrated(c, { amcheck: true }))
)

const embeddedOnly = (c: Globals, what: string) =>
  Option.isSome(c.databaseUrl)
    ? Effect.fail(
        new UsageError({
          message: `db ${what} is for the embedded store; for PostgreSQL use pg_dump / pg_restore (docs/operations.md)`
        })
      )
    : Effect.void

const backup = Command.make("backup", { ...globalOptions, file: Args.file({ name: "file", exists: "no" }) }, (c) =>
  Effect.gen(function* () {
    yield* embeddedOnly(c, "backup")
    const db = yield* Database.Database
    if (db.backup === undefined) return yield* new UsageError({ message: "this store has no backup of its own" })
    yield* db.backup(c.file)
    yield* Output.progress(`backed up ${dataDirOf(c)} to ${c.file}`)
  })
).pipe(
  Command.withDescription(
    [
      "Write a consistent copy of the embedded store to FILE (a gzipped tarball, owner-only). The store",
      "stays usable; restore it with `pipetrail db restore FILE --data-dir NEW_DIR`.",
      "",
      "Example: pipetrail db backup ~/pipetrail-2026-11-26.tar.gz"
    ].join("\n")
  ),
  Command.provide((c) => unmigrated(c))
)

const restore = Command.make("restore", { ...globalOptions, file: Args.file({ name: "file", exists: "yes" }) }, (c) =>
  Effect.gen(function* () {
    yield* embeddedOnly(c, "restore")
    yield* Database.restorePglite(c.file, dataDirOf(c))
    yield* Output.progress(`restored ${c.file} into ${dataDirOf(c)}`)
  }).pipe(Effect.provide(loggerLayer(c)))
).pipe(
  Command.withDescription(
    [
      "Restore a backup made by `pipetrail db backup` into the data directory, which must be new or empty.",
      "",
      "Example: pipetrail db restore ~/pipetrail-2026-11-26.tar.gz --data-dir ~/.local/share/pipetrail/restored"
    ].join("\n")
  )
)

/** `pipetrail db migrate|status|check|backup|restore`. */
export const db = Command.make("db").pipe(
  Command.withDescription("The store itself: migrate, status, check, backup, restore."),
  Command.withSubcommands([migrate, status, check, backup, restore])
)
