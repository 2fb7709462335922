/**
 * Verifies a store: PostgreSQL's page and index checks (`amcheck`) where the engine has them, then
 * the store's own invariants, which also catch damage that leaves every page valid (a truncated
 * table file reads as a shorter table): every head points at its execution's latest snapshot, each
 * execution's `seq` runs 1..n without gaps, every snapshot has a head, heap and index agree on the
 * row count, every stored document hashes to its `content_hash`; and for action executions, every
 * state was observed and each head is its action execution's latest observation.
 */
import { ActionExecution, Canonical, ExecutionDocument } from "@pipetrail/core"
import { Effect, Either } from "effect"
import { type Kysely, type RawBuilder, sql } from "kysely"
import { Database } from "./Database.js"
import type { DatabaseError } from "./DatabaseError.js"
import type { Tables } from "./DatabaseSchema.js"
import { storedDocument } from "./internal/observation.js"

/** One check and what it found: `problems` is 0 when it holds; `skipped` says why it could not run. */
export interface CheckResult {
  readonly check: string
  readonly problems: number
  readonly detail: string
  readonly skipped?: string
}

const probeRollback = new Error("rolled back on purpose")

/** Runs `f` in a transaction that is always rolled back (the extension it creates leaves no trace). */
const inRollback = async <A>(db: Kysely<Tables>, f: (trx: Kysely<Tables>) => Promise<A>): Promise<A> => {
  let result: A | undefined
  await db
    .transaction()
    .execute(async (trx) => {
      result = await f(trx)
      throw probeRollback
    })
    .catch((error: unknown) => {
      if (error !== probeRollback) throw error
    })
  return result as A
}

const pageChecks = async (db: Kysely<Tables>): Promise<ReadonlyArray<CheckResult>> => {
  const available = await sql<{
    n: number
  }>`select count(*)::int as n from pg_available_extensions where name = 'amcheck'`
    .execute(db)
    .then((r) => r.rows[0]!.n > 0)
  const skipped = (reason: string) => [
    { check: "pages and indexes (amcheck)", problems: 0, detail: "", skipped: reason }
  ]
  if (!available) return skipped("amcheck is not installed")
  return inRollback(db, async (trx) => {
    await sql`create extension if not exists amcheck`.execute(trx)
    const relations = (kind: "r" | "i") =>
      sql<{ name: string }>`
        select c.oid::regclass::text as name from pg_class c join pg_am a on a.oid = c.relam
        where c.relnamespace = current_schema()::regnamespace and c.relkind = ${kind}
          and a.amname = ${kind === "r" ? "heap" : "btree"} order by 1`
        .execute(trx)
        .then((r) => r.rows.map((row) => row.name))
    const heapDetails: Array<string> = []
    const tables = await relations("r")
    for (const name of tables) {
      const found = await sql<{ msg: string }>`select msg from verify_heapam(${name}::regclass) limit 5`.execute(trx)
      for (const row of found.rows) heapDetails.push(`${name}: ${row.msg}`)
    }
    const indexDetails: Array<string> = []
    const indexes = await relations("i")
    for (const name of indexes) {
      // A failed check aborts the transaction: each runs behind a savepoint of its own.
      await sql`savepoint index_check`.execute(trx)
      await sql`select bt_index_check(${name}::regclass, true)`.execute(trx).then(
        () => sql`release savepoint index_check`.execute(trx),
        async (error: Error) => {
          indexDetails.push(`${name}: ${error.message}`)
          await sql`rollback to savepoint index_check`.execute(trx)
        }
      )
    }
    return [
      {
        check: `pages of ${tables.length} tables (verify_heapam)`,
        problems: heapDetails.length,
        detail: heapDetails.join("; ")
      },
      {
        check: `${indexes.length} btree indexes (bt_index_check)`,
        problems: indexDetails.length,
        detail: indexDetails.join("; ")
      }
    ]
  }).catch((error: Error) => skipped(`amcheck could not run: ${error.message}`))
}

/** What a check found. */
type Finding = Omit<CheckResult, "check">

const count = (db: Kysely<Tables>, query: RawBuilder<{ n: number }>, detail: string) =>
  query.execute(db).then((r): Finding => {
    const problems = r.rows[0]?.n ?? 0
    return { problems, detail: problems === 0 ? "" : detail }
  })

/** A named check; one that cannot run (the engine errs on a damaged file) is a problem in itself. */
type Check = readonly [string, (db: Kysely<Tables>) => Promise<Finding>]

const invariants: ReadonlyArray<Check> = [
  [
    "every head points at an existing snapshot of its execution",
    (db) =>
      count(
        db,
        sql<{ n: number }>`select count(*)::int as n from execution_head h
      left join execution_snapshot s on s.id = h.snapshot_id and s.source = h.source
        and s.pipeline_name = h.pipeline_name and s.pipeline_execution_id = h.pipeline_execution_id
      where s.id is null`,
        "heads without their snapshot: the snapshot table lost rows"
      )
  ],
  [
    "every head is its execution's latest state (seq and hash)",
    (db) =>
      count(
        db,
        sql<{ n: number }>`select count(*)::int as n from execution_head h
      join lateral (select max(seq) as seq from execution_snapshot s where s.source = h.source
        and s.pipeline_name = h.pipeline_name and s.pipeline_execution_id = h.pipeline_execution_id) m on true
      join execution_snapshot s on s.id = h.snapshot_id
      where h.seq is distinct from m.seq or h.content_hash is distinct from s.content_hash or s.seq <> h.seq`,
        "heads that disagree with the snapshots"
      )
  ],
  [
    "each execution's seq runs 1..n without gaps",
    (db) =>
      count(
        db,
        sql<{ n: number }>`select count(*)::int as n from (
      select 1 from execution_snapshot group by source, pipeline_name, pipeline_execution_id
      having min(seq) <> 1 or max(seq) <> count(*) or count(distinct seq) <> count(*)) g`,
        "executions with missing or repeated states"
      )
  ],
  [
    "each execution's states are the replay of its observations (counts, ends, order, no repeated neighbour, no orphan)",
    (db) =>
      count(
        db,
        sql<{ n: number }>`select count(*)::int as n from (
      select h.id from execution_head h
      join lateral (select coalesce(sum(seen), 0) as seen from execution_observation o where o.head_id = h.id) o on true
      join lateral (select coalesce(sum(seen_count), 0) as seen from execution_snapshot s where s.source = h.source
        and s.pipeline_name = h.pipeline_name and s.pipeline_execution_id = h.pipeline_execution_id) s on true
      where o.seen <> s.seen
      union all
      select h.id from execution_snapshot s
      join execution_head h using (source, pipeline_name, pipeline_execution_id)
      where not exists (select from execution_observation o where o.head_id = h.id and o.observed_at = s.first_seen_at
          and o.content_hash = s.content_hash and o.run_id is not distinct from s.first_run_id)
        or not exists (select from execution_observation o where o.head_id = h.id and o.observed_at = s.last_seen_at
          and o.content_hash = s.content_hash and o.run_id is not distinct from s.last_run_id)
      union all
      select null from (select content_hash, lag(content_hash) over (
          partition by source, pipeline_name, pipeline_execution_id order by seq) as previous
        from execution_snapshot) x
      where previous = content_hash
      union all
      select null from (select first_seen_at, content_hash, first_run_id,
          lag(last_seen_at) over w as previous_last, lag(content_hash) over w as previous_hash,
          lag(last_run_id) over w as previous_run
        from execution_snapshot window w as (partition by source, pipeline_name, pipeline_execution_id order by seq)) x
      where previous_last is not null
        and (previous_last, previous_hash collate "C", coalesce(previous_run, 0))
          >= (first_seen_at, content_hash collate "C", coalesce(first_run_id, 0))
      union all
      select o.head_id from execution_observation o where not exists (select from execution_head h where h.id = o.head_id)) bad`,
        "states that their observations do not account for"
      )
  ],
  [
    "every snapshot has a head",
    (db) =>
      count(
        db,
        sql<{ n: number }>`select count(*)::int as n from execution_snapshot s where not exists (
      select from execution_head h where h.source = s.source and h.pipeline_name = s.pipeline_name
        and h.pipeline_execution_id = s.pipeline_execution_id)`,
        "snapshots of executions without a head: the head table lost rows"
      )
  ],
  [
    "each action execution's head is its latest observation, and every action state was observed",
    (db) =>
      count(
        db,
        sql<{ n: number }>`select count(*)::int as n from (
      select null from action_state s where not exists (select from action_observation o where o.state_id = s.id)
      union all
      select null from action_state s where not exists (select from action_head h where h.source = s.source
        and h.pipeline_name = s.pipeline_name and h.pipeline_execution_id = s.pipeline_execution_id
        and h.action_execution_id = s.action_execution_id)
      union all
      select null from action_head h join action_state s on s.id = h.state_id
      where (s.source, s.pipeline_name, s.pipeline_execution_id, s.action_execution_id, s.content_hash)
          is distinct from (h.source, h.pipeline_name, h.pipeline_execution_id, h.action_execution_id, h.content_hash)
        or not exists (select from action_observation o where o.state_id = h.state_id and o.observed_at = h.observed_at
          and o.run_id is not distinct from h.run_id)
        or exists (select from action_state s2 join action_observation o on o.state_id = s2.id
          where s2.source = h.source and s2.pipeline_name = h.pipeline_name
            and s2.pipeline_execution_id = h.pipeline_execution_id and s2.action_execution_id = h.action_execution_id
            and (o.observed_at, s2.content_hash collate "C", coalesce(o.run_id, 0))
              > (h.observed_at, h.content_hash collate "C", coalesce(h.run_id, 0)))) bad`,
        "action executions whose head or states their observations do not account for"
      )
  ],
  [
    "execution_snapshot: table and primary key hold the same rows",
    (db) =>
      inRollback(db, async (trx) => {
        // The same count read from the table and from its primary key: a truncated file shows here.
        await sql`set local enable_indexscan = off`.execute(trx)
        await sql`set local enable_indexonlyscan = off`.execute(trx)
        await sql`set local enable_bitmapscan = off`.execute(trx)
        const heap = await sql<{ n: number }>`select count(*)::int as n from execution_snapshot`.execute(trx)
        await sql`set local enable_seqscan = off`.execute(trx)
        await sql`set local enable_indexonlyscan = on`.execute(trx)
        await sql`set local enable_indexscan = on`.execute(trx)
        const index = await sql<{ n: number }>`select count(id)::int as n from execution_snapshot where id > 0`.execute(
          trx
        )
        const [h, i] = [heap.rows[0]!.n, index.rows[0]!.n]
        return {
          check: "execution_snapshot: table and primary key hold the same rows",
          problems: Math.abs(h - i),
          detail: h === i ? "" : `${h} rows in the table, ${i} in its primary key`
        }
      })
  ]
]

/**
 * Every stored document of `table` decodes and hashes to its `content_hash` (`hashOf` gives the
 * hash of a decoded document, or undefined when it does not decode). Read 1,000 rows at a time.
 */
const hashCheck =
  (table: "execution_snapshot" | "action_state", what: string, hashOf: (document: unknown) => string | undefined) =>
  async (db: Kysely<Tables>): Promise<Finding> => {
    let problems = 0
    let checked = 0
    const bad: Array<string> = []
    for (let after = 0; ; ) {
      const rows = await db
        .selectFrom(table)
        .select(["id", "document", "document_raw", "content_hash"])
        .where("id", ">", after)
        .orderBy("id")
        .limit(1000)
        .execute()
      if (rows.length === 0) break
      for (const row of rows) {
        checked += 1
        if (hashOf(storedDocument(row)) !== row.content_hash) {
          problems += 1
          if (bad.length < 5) bad.push(String(row.id))
        }
      }
      after = Number(rows[rows.length - 1]!.id)
    }
    return {
      problems,
      detail: problems === 0 ? `${checked} checked` : `${what} ${bad.join(", ")}${problems > bad.length ? "…" : ""}`
    }
  }

const hashes = hashCheck("execution_snapshot", "snapshots", (raw) =>
  Either.match(ExecutionDocument.decode(raw), {
    onLeft: () => undefined,
    onRight: (document) => Canonical.sha256(ExecutionDocument.canonicalJson(document))
  })
)

const actionHashes = hashCheck("action_state", "action states", (raw) =>
  Either.match(ActionExecution.decode(raw), { onLeft: () => undefined, onRight: ActionExecution.contentHash })
)

/** Runs every check on the store in context; a problem is reported, not raised. Fails only if the database does. */
export const run: Effect.Effect<ReadonlyArray<CheckResult>, DatabaseError, Database> = Effect.gen(function* () {
  const db = yield* Database
  const checks: ReadonlyArray<Check> = [
    ...invariants,
    ["stored documents hash to their content_hash", hashes],
    ["stored action documents hash to their content_hash", actionHashes]
  ]
  return yield* db.use("check the store", async (k) => {
    const results: Array<CheckResult> = [...(await pageChecks(k))]
    for (const [name, check] of checks) {
      const finding = await check(k).catch(
        (error: Error): Finding => ({ problems: 1, detail: `could not run: ${error.message}` })
      )
      results.push({ check: name, ...finding })
    }
    return results
  })
})
