import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it, layer } from "@effect/vitest"
import { Database, ReadOnlyQuery, SnapshotStore } from "@pipetrail/store"
import { Effect, Exit, FastCheck as fc } from "effect"
import { sql } from "kysely"
import { backends, doc, executionId, freshSource, later, storeLayer } from "./utils.js"

// Invariant: no statement outside the allowed read-only kinds, as PostgreSQL's own parser
// classifies it, reaches the server; what does reach it cannot change the store or the machine.

const markerDir = mkdtempSync(join(tmpdir(), "pipetrail-sql-"))
const marker = join(markerDir, "pwned")

/** Each attempt was measured to bypass the regular-expression check this module replaced, or is named by the issue. */
const attacks: ReadonlyArray<string> = [
  // comments PostgreSQL nests or ends where a regex does not
  `/* /* */ select */ copy (select 1) to program 'touch ${marker}'`,
  `/* /* */ select 1 */ copy (select 1) to program 'touch ${marker}'`,
  `-- x\rcopy (select 1) to program 'touch ${marker}'`,
  `-- x\fcopy (select 1) to program 'touch ${marker}'`,
  `/* a */ copy execution_head to '${marker}'`,
  `select 1 /* ; */ ; copy (select 1) to '${marker}'`,
  // quoting that holds ; or */
  `select U&'\\0041;' ; copy (select 1) to program 'touch ${marker}'`,
  `select E'\\';' ; copy (select 1) to '${marker}'`,
  `select $$ */ ; $$; copy (select 1) to '${marker}'`,
  `select $q$ ; $q$ ; delete from execution_head`,
  // COPY in every position
  `copy (select 1) to program 'touch ${marker}'`,
  `COPY (SELECT 1) TO PROGRAM 'touch ${marker}'`,
  `copy execution_head from '/etc/hostname'`,
  `copy execution_head to stdout`,
  `explain copy execution_head to '${marker}'`,
  `with x as (select 1) copy (select 1) to '${marker}'`,
  // writes and utility statements in disguise
  "with d as (delete from execution_head returning 1) select count(*) from d",
  "with i as (insert into snapshot_run (source) values ('x') returning 1) select 1",
  "with u as (update execution_head set status = 'x' returning 1) table u",
  "explain analyze delete from execution_head",
  "explain (analyze) select 1",
  "explain (analyze true, costs off) select 1",
  "explain delete from execution_head",
  "select * into pwned from execution_head",
  "select * from execution_head for update",
  "select * from execution_head for share skip locked",
  "table execution_head for no key update",
  "set transaction_read_only = off",
  "set role postgres",
  "reset role",
  "commit; delete from execution_head",
  "select 1; delete from execution_head",
  "select 1;;select 2",
  "begin",
  "vacuum execution_head",
  "do $$ begin perform 1; end $$",
  "call pg_catalog.pg_sleep(0)",
  "prepare p as select 1",
  "listen x",
  "notify x",
  "lock execution_head",
  "create table pwned (x int)",
  "drop table execution_snapshot",
  "truncate execution_head",
  "refresh materialized view x",
  "checkpoint",
  "load 'plpgsql'",
  // refused functions: mixed case, schema-qualified, quoted, nested, in FROM
  "select pg_read_file('/etc/passwd')",
  "select PG_CATALOG.PG_READ_FILE('/etc/passwd')",
  `select "pg_read_file"('/etc/passwd')`,
  "select pg_read_binary_file('/etc/passwd')",
  "select * from pg_ls_dir('/')",
  "select * from pg_catalog.pg_ls_dir('/') as d",
  "select pg_stat_file('/etc/passwd')",
  "select pg_terminate_backend(pg_backend_pid())",
  "select pg_cancel_backend(1)",
  "select pg_stat_reset()",
  "select pg_reload_conf()",
  "select pg_logical_emit_message(true, 'x', 'y')",
  "select pg_sleep(600)",
  "select pg_catalog.pg_sleep_for('1 minute')",
  "select pg_advisory_lock(1)",
  "select pg_try_advisory_xact_lock(1)",
  "select pg_notify('x', 'y')",
  "select set_config('role', 'postgres', false)",
  "select nextval('snapshot_run_id_seq')",
  "select setval('snapshot_run_id_seq', 1)",
  "select lo_import('/etc/passwd')",
  "select lo_export(1, '/tmp/x')",
  "select loread(0, 1)",
  "select lo_from_bytea(0, 'x')",
  "select query_to_xml('delete from execution_head', true, true, '')",
  `select query_to_xml('copy (select 1) to program ''touch ${marker}''', true, true, '')`,
  "select cursor_to_xml('c', 1, true, true, '')",
  "select table_to_xml('execution_head', true, true, '')",
  "select * from ts_stat('select 1')",
  "select dblink_exec('dbname=postgres', 'delete from execution_head')",
  "select txid_current()",
  "select 1 where exists (select pg_read_file('/etc/passwd'))",
  "select (select count(*) from pg_ls_dir('/'))",
  "values (pg_read_file('/etc/passwd'))",
  "select coalesce(null, pg_read_file('/etc/passwd'))",
  "select array_agg(x) filter (where pg_sleep(1) is null) from generate_series(1, 2) x",
  // functions called by attribute notation (found by review): `(x).f` is `f(x)`
  "select (2::float8).pg_sleep",
  "select ('1 second'::interval).pg_sleep_for",
  "select (42::bigint).pg_advisory_lock",
  "select ('select 1'::text).ts_stat",
  "select ('select set_config(''role'',''postgres'',true)::tsvector'::text).ts_stat",
  "select x.set_config from (select 'a') x",
  "select (row('a','b',false)).set_config",
  "select t.nextval from (select 'snapshot_run_id_seq'::regclass) t",
  // not one statement
  "",
  "   ",
  "-- only a comment",
  "select 1\u0000; delete from execution_head",
  "select (",
  "/* unterminated"
]

/** Read-only queries people run: each must pass. */
const allowed: ReadonlyArray<string> = [
  "select 1",
  "SELECT count(*) FROM execution_snapshot",
  "with x as (select 1 as n) select n from x",
  "with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select * from r",
  "values (1), (2)",
  "table execution_head",
  "show server_version",
  "show all",
  "explain select * from execution_head",
  "explain (costs off, format json) select 1",
  "-- a comment\nselect 1",
  "/* /* nested */ comment */ select 1",
  `/* /* */ copy (select 1) to program 'touch ${marker}' */ ; select 1`,
  "select 'delete from execution_head; copy x to program ''id''' as text",
  "select $$copy (select 1) to program 'id'$$",
  "select document ->> 'status', jsonb_array_length(document -> 'artifactRevisions') from execution_snapshot",
  "select date_trunc('day', first_seen_at), count(*) from execution_snapshot group by 1 order by 1",
  "select pg_typeof(1), pg_size_pretty(pg_total_relation_size('execution_snapshot'))",
  "select row_number() over (partition by pipeline_name order by start_time) from execution_head",
  "select current_user, now(), version()",
  "select * from generate_series(1, 3)",
  "select 1;"
]

const refusedBy = (statement: string) =>
  Effect.runPromise(Effect.flip(ReadOnlyQuery.check(statement)).pipe(Effect.map((e) => e.reason)))

describe("ReadOnlyQuery.check", () => {
  it("refuses every bypass attempt, with a reason", async () => {
    for (const statement of attacks) {
      const reason = await refusedBy(statement).catch(() => undefined)
      assert.isString(reason, `not refused: ${JSON.stringify(statement)}`)
      assert.isAbove(reason!.length, 8)
    }
  })

  it("allows the read-only queries people run", async () => {
    for (const statement of allowed) {
      const exit = await Effect.runPromiseExit(ReadOnlyQuery.check(statement))
      assert.isTrue(Exit.isSuccess(exit), `${JSON.stringify(statement)}: ${JSON.stringify(exit)}`)
    }
  })

  it("allows every query docs/sql.md shows", async () => {
    const doc = readFileSync(new URL("../../../docs/sql.md", import.meta.url), "utf8")
    const queries = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)]
      .map((m) => m[1]!.trim())
      .filter((q) => /^(select|with)\b/i.test(q))
    assert.isAbove(queries.length, 5)
    for (const query of queries) {
      const exit = await Effect.runPromiseExit(ReadOnlyQuery.check(query))
      assert.isTrue(Exit.isSuccess(exit), `${query}: ${JSON.stringify(exit)}`)
    }
  })

  it("names the function, the statement kind or the syntax error it refuses", async () => {
    assert.match(await refusedBy("select PG_CATALOG.pg_ls_dir('/')"), /function pg_ls_dir is refused/)
    assert.match(await refusedBy("select query_to_xml('x', true, true, '')"), /function query_to_xml .*runs SQL/)
    assert.match(await refusedBy("copy x to stdout"), /^COPY statements are refused/)
    assert.match(await refusedBy("with d as (delete from x returning 1) select 1"), /a DELETE statement inside/)
    assert.match(await refusedBy("set role postgres"), /^VARIABLE SET statements are refused/)
    assert.match(await refusedBy("select 1; select 2"), /exactly one statement may run, got 2/)
    assert.match(await refusedBy("select (1"), /not valid SQL: syntax error at end of input \(at character 10\)/)
  })

  // A verdict is a fact of the parse tree, so comments around the text never change it (a
  // text-based check fails exactly here), and a refusal always says why.
  const fragments = fc.constantFrom(
    "select 1",
    "SELECT",
    " x ",
    "with x as (",
    ")",
    "(",
    "/*",
    "*/",
    "/* /* */",
    "--",
    "\r",
    "\n",
    "\f",
    ";",
    "$$",
    "$q$",
    "'",
    "U&'",
    "E'",
    "\\'",
    "''",
    '"',
    "copy (select 1) to program 'true'",
    "copy execution_head to '/dev/null'",
    "pg_read_file('/etc/hostname')",
    "pg_catalog.PG_LS_DIR('/')",
    "delete from execution_head",
    "insert into snapshot_run (source) values ('x')",
    "set_config('a.b', 'c', false)",
    "query_to_xml('select 1', true, true, '')",
    "explain analyze",
    "explain",
    " for update",
    " into pwned ",
    " from execution_head",
    " union ",
    "table execution_head",
    "values (1)",
    "show all",
    "reset role"
  )
  const texts = fc.array(fragments, { minLength: 1, maxLength: 8 }).map((parts) => parts.join(" "))

  it("gives the same verdict with comments around the statement, whatever the pieces", async () => {
    const verdict = (text: string) =>
      Effect.runPromise(
        Effect.match(ReadOnlyQuery.check(text), {
          onFailure: (e) => e.reason.length > 0 && "refused",
          onSuccess: () => "allowed"
        })
      )
    await fc.assert(
      fc.asyncProperty(texts, async (text) => {
        const plain = await verdict(text)
        assert.notStrictEqual(plain, false)
        // A trailing line comment needs a line break first, or it would swallow a text's own unterminated quote.
        for (const variant of [`/* a /* nested */ comment */ ${text}`, `-- c\r${text}`, `\f${text}\n-- c`]) {
          assert.strictEqual(await verdict(variant), plain, JSON.stringify(variant))
        }
      }),
      { numRuns: 300, seed: 14 }
    )
  })
})

/** A digest of every row of the store and of every sequence: equal digests, byte-identical store. */
const digest = Effect.gen(function* () {
  const db = yield* Database.Database
  return yield* db.use("digest", async (k) => {
    const { rows } = await sql<{ d: string }>`
      select md5(coalesce((select string_agg(md5(t::text), ',' order by md5(t::text)) from execution_snapshot t), '')
        || coalesce((select string_agg(md5(t::text), ',' order by md5(t::text)) from execution_head t), '')
        || coalesce((select string_agg(md5(t::text), ',' order by md5(t::text)) from snapshot_run t), '')
        || coalesce((select string_agg(md5(t::text), ',' order by md5(t::text)) from rejected_response t), '')
        || coalesce((select string_agg(sequencename || ':' || coalesce(last_value, 0), ',' order by sequencename)
                     from pg_sequences), '')) as d`.execute(k)
    return rows[0]!.d
  })
})

for (const backend of backends) {
  layer(storeLayer(backend.database), { timeout: 120_000 })(`pipetrail sql on ${backend.name}`, (it) => {
    it.effect("refuses every attempt before the database sees it; the store stays byte-identical", () =>
      Effect.gen(function* () {
        const db = yield* Database.Database
        const store = yield* SnapshotStore.SnapshotStore
        yield* store.record({ source: freshSource(), document: doc(executionId()), observedAt: later() })
        const before = yield* digest
        for (const statement of attacks) {
          const error = yield* Effect.flip(db.queryReadOnly(statement))
          assert.strictEqual(error._tag, "QueryRefusedError", JSON.stringify(statement))
        }
        assert.strictEqual(yield* digest, before)
        assert.isFalse(existsSync(marker), "a refused COPY wrote a file")
        for (const statement of allowed) {
          const result = yield* db.queryReadOnly(statement)
          assert.isArray(result.rows, statement)
        }
        assert.strictEqual(yield* digest, before)
      })
    )

    it.effect("runs as pipetrail_reader: no privilege beyond reading the store", () =>
      Effect.gen(function* () {
        const db = yield* Database.Database
        const who = yield* db.queryReadOnly("select current_user, has_table_privilege('execution_head', 'INSERT')")
        assert.deepStrictEqual(who.rows, [["pipetrail_reader", false]])
        // Not on the parser's refusal list, yet refused by the database: the role is a layer of its own.
        const authid = yield* Effect.flip(db.queryReadOnly("select rolpassword from pg_authid"))
        assert.strictEqual(authid._tag, "DatabaseError")
        assert.match(authid.message, /permission denied/)
        const views = yield* db.queryReadOnly("select count(*) from latest_execution")
        assert.strictEqual(views.rows.length, 1)
      })
    )

    it.effect("a statement past its timeout is cancelled by the server", () =>
      Effect.gen(function* () {
        if (backend.name === "pglite") return // PGlite has no timer signals: see docs/reliability.md
        const db = yield* Database.Database
        const slow = "select count(*) from generate_series(1, 100000000) a"
        const error = yield* Effect.flip(db.queryReadOnly(slow, { timeoutMs: 200 }))
        assert.strictEqual(error._tag, "DatabaseError")
        assert.match(error.message, /statement timeout/)
      })
    )

    it.effect("random pieces that the parser refuses never reach the database; what it allows changes nothing", () =>
      Effect.gen(function* () {
        const db = yield* Database.Database
        const before = yield* digest
        const samples = fc.sample(
          fc
            .array(
              fc.constantFrom(
                "select 1",
                "/* /* */",
                "*/",
                "--\r",
                ";",
                "$$",
                "'",
                "copy (select 1) to program 'touch " + marker + "'",
                "copy execution_head to '" + marker + "'",
                "pg_read_file('/etc/hostname')",
                "delete from execution_head",
                "with x as (select 1)",
                " from execution_head",
                "explain analyze",
                "table execution_head"
              ),
              { minLength: 1, maxLength: 6 }
            )
            .map((parts) => parts.join(" ")),
          { numRuns: 60, seed: 14 }
        )
        for (const text of samples) {
          const exit = yield* Effect.exit(db.queryReadOnly(text))
          if (Exit.isFailure(exit)) {
            const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
            // A refusal is the parser's; a database error can only come from a statement it allowed.
            if (error?._tag === "DatabaseError") {
              assert.isTrue(Exit.isSuccess(yield* Effect.exit(ReadOnlyQuery.check(text))), text)
            }
          }
        }
        assert.strictEqual(yield* digest, before)
        assert.isFalse(existsSync(marker))
      })
    )
  })
}
