import { type Kysely, sql } from "kysely"

// Observations are applied in the order they were made, not the order they were written. Every
// observation is kept in `execution_observation` (a narrow row: which execution, when, which
// content, which run), so a late one can be placed where its time falls and the states around it
// recomputed exactly. A state's place in its history (seq, first and last seen, seen count, runs)
// is therefore derived data the writer may move; its content stays immutable.
//
// Stores from before this migration kept, per state, the first and last observation and a count:
// the log starts with those two, the count's middle observations weighed at the last one.

/** The columns that are a state's content: never changed once written. */
const contentColumns = [
  "id",
  "source",
  "pipeline_name",
  "pipeline_execution_id",
  "pipeline_version",
  "status",
  "status_summary",
  "trigger_type",
  "trigger_detail",
  "execution_mode",
  "execution_type",
  "rollback_target_execution_id",
  "start_time",
  "last_update_time",
  "document",
  "document_raw",
  "content_hash"
]

const row = (alias: "new" | "old") => sql.raw(contentColumns.map((column) => `${alias}.${column}`).join(", "))

export const up = async (db: Kysely<any>): Promise<void> => {
  await sql`alter table execution_head add column id bigint generated always as identity`.execute(db)
  await sql`alter table execution_head add constraint execution_head_id_key unique (id)`.execute(db)

  // No foreign key to the head: a sighting costs one narrow insert (that key check cost a tenth of
  // the write path's throughput); only the writer adds rows, under the execution's head lock, and
  // `db check` verifies that the log accounts for every stored state and names no unknown
  // execution. The run is checked: a sighting may later start or end a state, whose run columns
  // reference `snapshot_run`, so a run that does not exist is refused when it is written.
  await sql`
    create table execution_observation (
      head_id bigint not null,
      observed_at timestamptz not null,
      content_hash text not null check (content_hash ~ '^[0-9a-f]{64}$'),
      run_id bigint references snapshot_run (id),
      seen integer not null default 1 check (seen >= 1)
    )
  `.execute(db)
  // One observation is recorded once, however often its write is retried; the index also reads an
  // execution's observations in their order.
  await sql`
    create unique index execution_observation_order
      on execution_observation (head_id, observed_at, content_hash, (coalesce(run_id, 0)))
  `.execute(db)

  await sql`
    create or replace function execution_snapshot_immutable() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        raise exception 'execution_snapshot rows are immutable: DELETE of snapshot % refused', old.id
          using errcode = 'integrity_constraint_violation';
      end if;
      if tg_op = 'TRUNCATE' then
        raise exception 'execution_snapshot rows are immutable: TRUNCATE refused'
          using errcode = 'integrity_constraint_violation';
      end if;
      raise exception 'execution_snapshot documents are immutable: only a state''s place in its history (seq, first and last seen, seen count, runs) may change (snapshot %)', old.id
        using errcode = 'integrity_constraint_violation';
    end
    $$
  `.execute(db)
  await sql`drop trigger execution_snapshot_immutable_update on execution_snapshot`.execute(db)
  await sql`
    create trigger execution_snapshot_immutable_update before update on execution_snapshot
    for each row
    when ((${row("new")}) is distinct from (${row("old")}))
    execute function execution_snapshot_immutable()
  `.execute(db)
  // Observations are JavaScript times (milliseconds); a legacy interval is put the right way round
  // and at that precision before it is logged (the writer never wrote either, but a store may hold it).
  await sql`
    update execution_snapshot
    set first_seen_at = date_trunc('milliseconds', least(first_seen_at, last_seen_at)),
      last_seen_at = date_trunc('milliseconds', greatest(first_seen_at, last_seen_at))
    where first_seen_at > last_seen_at
      or first_seen_at <> date_trunc('milliseconds', first_seen_at)
      or last_seen_at <> date_trunc('milliseconds', last_seen_at)
  `.execute(db)
  await sql`
    insert into execution_observation (head_id, observed_at, content_hash, run_id, seen)
    select h.id, o.observed_at, s.content_hash, o.run_id, sum(o.seen)::int
    from execution_snapshot s
    join execution_head h using (source, pipeline_name, pipeline_execution_id)
    cross join lateral (values (s.first_seen_at, s.first_run_id, 1), (s.last_seen_at, s.last_run_id, s.seen_count - 1))
      as o(observed_at, run_id, seen)
    where o.seen > 0
    group by h.id, o.observed_at, s.content_hash, o.run_id
  `.execute(db)
  await resortLegacyHistories(db)
  await sql`
    alter table execution_snapshot add constraint execution_snapshot_seen_interval check (first_seen_at <= last_seen_at)
  `.execute(db)
}

/** Observation order (time, content hash, run; none first), as the writer of 0009 defines it. */
const compare = (
  a: { at: number; hash: string; run: number | null },
  b: { at: number; hash: string; run: number | null }
) => a.at - b.at || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0) || (a.run ?? 0) - (b.run ?? 0)

const num = (value: unknown): number => Number(value)
const numOrNull = (value: unknown): number | null => (value === null ? null : Number(value))
const time = (value: unknown): number => (value instanceof Date ? value : new Date(String(value))).getTime()

/**
 * Writers before 0009 applied observations in the order they were written: two jobs at once could
 * store InProgress (10:00), Succeeded (10:05), InProgress (10:03). Such histories are re-sorted
 * into observation order, as the replay of their logged sightings. Where that leaves two rows of
 * one execution with the same content in one state, they become one: the row kept holds the same
 * bytes and every sighting stays in the log, so only the merged row's id goes. Also re-sorted:
 * neighbours with the same content, and a single sighting with two times (no writer wrote them,
 * but a store may hold them). Executions whose states follow each other strictly in time, each
 * consistent, are already in order and are not touched.
 */
const resortLegacyHistories = async (db: Kysely<any>) => {
  const flagged = await sql<{ id: string | number }>`
    select distinct h.id
    from (
      select source, pipeline_name, pipeline_execution_id, first_seen_at, last_seen_at, seen_count, content_hash,
        lag(last_seen_at) over w as previous_last, lag(content_hash) over w as previous_hash
      from execution_snapshot
      window w as (partition by source, pipeline_name, pipeline_execution_id order by seq)
    ) x
    join execution_head h using (source, pipeline_name, pipeline_execution_id)
    where (x.previous_last is not null and x.previous_last >= x.first_seen_at)
      or x.previous_hash = x.content_hash
      or (x.seen_count = 1 and x.first_seen_at <> x.last_seen_at)
  `.execute(db)
  const heads = flagged.rows.map((r) => num(r.id))
  if (heads.length === 0) return
  await sql`alter table execution_snapshot disable trigger execution_snapshot_immutable_delete`.execute(db)
  for (let i = 0; i < heads.length; i += 500) {
    const batch = heads.slice(i, i + 500)
    const log = await sql<Record<string, unknown>>`
      select head_id, observed_at, content_hash, run_id, seen from execution_observation where head_id = any(${batch}::bigint[])
    `.execute(db)
    const rows = await sql<Record<string, unknown>>`
      select h.id as head_id, s.id, s.content_hash, s.status, s.start_time
      from execution_head h join execution_snapshot s using (source, pipeline_name, pipeline_execution_id)
      where h.id = any(${batch}::bigint[]) order by h.id, s.seq
    `.execute(db)
    for (const head of batch) {
      const entries = log.rows
        .filter((r) => num(r.head_id) === head)
        .map((r) => ({
          at: time(r.observed_at),
          hash: String(r.content_hash),
          run: numOrNull(r.run_id),
          seen: num(r.seen)
        }))
        .sort(compare)
      const mine = rows.rows.filter((r) => num(r.head_id) === head)
      const states: Array<{
        hash: string
        first: (typeof entries)[number]
        last: (typeof entries)[number]
        seen: number
      }> = []
      for (const entry of entries) {
        const last = states.at(-1)
        if (last !== undefined && last.hash === entry.hash) {
          last.last = entry
          last.seen += entry.seen
        } else states.push({ hash: entry.hash, first: entry, last: entry, seen: entry.seen })
      }
      // Each state takes the earliest unused row with its content; a state without one gets a copy.
      const unused = [...mine]
      const held = states.map((state) => {
        const at = unused.findIndex((r) => r.content_hash === state.hash)
        return at === -1 ? undefined : unused.splice(at, 1)[0]!
      })
      await sql`update execution_snapshot set seq = seq + 1000000000 where id = any(${mine.map((r) => num(r.id))}::bigint[])`.execute(
        db
      )
      const ids: Array<number> = []
      for (const [k, state] of states.entries()) {
        const placement = [
          k + 1,
          new Date(state.first.at).toISOString(),
          new Date(state.last.at).toISOString(),
          state.seen,
          state.first.run,
          state.last.run
        ] as const
        const row = held[k]
        if (row !== undefined) {
          await sql`
            update execution_snapshot set seq = ${placement[0]}, first_seen_at = ${placement[1]}, last_seen_at = ${placement[2]},
              seen_count = ${placement[3]}, first_run_id = ${placement[4]}, last_run_id = ${placement[5]}
            where id = ${num(row.id)}
          `.execute(db)
          ids.push(num(row.id))
        } else {
          const source = mine.find((r) => r.content_hash === state.hash)!
          const copy = await sql<{ id: string | number }>`
            insert into execution_snapshot (source, pipeline_name, pipeline_execution_id, seq, pipeline_version, status,
              status_summary, trigger_type, trigger_detail, execution_mode, execution_type, rollback_target_execution_id,
              start_time, last_update_time, document, document_raw, content_hash,
              first_seen_at, last_seen_at, seen_count, first_run_id, last_run_id)
            select source, pipeline_name, pipeline_execution_id, ${placement[0]}, pipeline_version, status,
              status_summary, trigger_type, trigger_detail, execution_mode, execution_type, rollback_target_execution_id,
              start_time, last_update_time, document, document_raw, content_hash,
              ${placement[1]}, ${placement[2]}, ${placement[3]}, ${placement[4]}, ${placement[5]}
            from execution_snapshot where id = ${num(source.id)}
            returning id
          `.execute(db)
          ids.push(num(copy.rows[0]!.id))
        }
      }
      const last = states.at(-1)!
      const lastRow = mine.find((r) => r.content_hash === last.hash)!
      const startTime = [...states]
        .reverse()
        .map((s) => mine.find((r) => r.content_hash === s.hash)!.start_time)
        .find((t) => t !== null)
      await sql`
        update execution_head set seq = ${states.length}, snapshot_id = ${ids.at(-1)!}, content_hash = ${last.hash},
          status = ${String(lastRow.status)}, start_time = ${startTime === undefined ? null : new Date(time(startTime)).toISOString()},
          changed_at = ${new Date(last.first.at).toISOString()}
        where id = ${head}
      `.execute(db)
      // Rows no state holds: another row of this execution holds the same bytes.
      const merged = unused.map((r) => num(r.id))
      if (merged.length > 0) await sql`delete from execution_snapshot where id = any(${merged}::bigint[])`.execute(db)
    }
  }
  await sql`alter table execution_snapshot enable trigger execution_snapshot_immutable_delete`.execute(db)
}

export const down = async (db: Kysely<any>): Promise<void> => {
  await sql`alter table execution_snapshot drop constraint execution_snapshot_seen_interval`.execute(db)
  await sql`drop trigger execution_snapshot_immutable_update on execution_snapshot`.execute(db)
  await sql`
    create or replace function execution_snapshot_immutable() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        raise exception 'execution_snapshot rows are immutable: DELETE of snapshot % refused', old.id
          using errcode = 'integrity_constraint_violation';
      end if;
      if tg_op = 'TRUNCATE' then
        raise exception 'execution_snapshot rows are immutable: TRUNCATE refused'
          using errcode = 'integrity_constraint_violation';
      end if;
      raise exception 'execution_snapshot documents are immutable: only last_seen_at, seen_count and last_run_id may change (snapshot %)', old.id
        using errcode = 'integrity_constraint_violation';
    end
    $$
  `.execute(db)
  await sql`
    create trigger execution_snapshot_immutable_update before update on execution_snapshot
    for each row
    when ((new.id, new.source, new.pipeline_name, new.pipeline_execution_id, new.seq, new.pipeline_version,
          new.status, new.status_summary, new.trigger_type, new.trigger_detail, new.execution_mode,
          new.execution_type, new.rollback_target_execution_id, new.start_time, new.last_update_time,
          new.document, new.document_raw, new.content_hash, new.first_seen_at, new.first_run_id)
         is distinct from
         (old.id, old.source, old.pipeline_name, old.pipeline_execution_id, old.seq, old.pipeline_version,
          old.status, old.status_summary, old.trigger_type, old.trigger_detail, old.execution_mode,
          old.execution_type, old.rollback_target_execution_id, old.start_time, old.last_update_time,
          old.document, old.document_raw, old.content_hash, old.first_seen_at, old.first_run_id)
      or new.seen_count < old.seen_count or new.last_seen_at < old.last_seen_at)
    execute function execution_snapshot_immutable()
  `.execute(db)
  await sql`drop table execution_observation`.execute(db)
  await sql`alter table execution_head drop column id`.execute(db)
}
