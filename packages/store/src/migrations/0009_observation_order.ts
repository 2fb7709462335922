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

  // No foreign keys: a sighting costs one narrow insert (a key check per row cost a tenth of the
  // write path's throughput). Only the writer adds rows, under the execution's head lock, and
  // `db check` verifies that the log accounts for every stored state.
  await sql`
    create table execution_observation (
      head_id bigint not null,
      observed_at timestamptz not null,
      content_hash text not null check (content_hash ~ '^[0-9a-f]{64}$'),
      run_id bigint,
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
    insert into execution_observation (head_id, observed_at, content_hash, run_id, seen)
    select h.id, o.observed_at, s.content_hash, o.run_id, sum(o.seen)::int
    from execution_snapshot s
    join execution_head h using (source, pipeline_name, pipeline_execution_id)
    cross join lateral (values (s.first_seen_at, s.first_run_id, 1), (s.last_seen_at, s.last_run_id, s.seen_count - 1))
      as o(observed_at, run_id, seen)
    where o.seen > 0
    group by h.id, o.observed_at, s.content_hash, o.run_id
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
  await sql`
    alter table execution_snapshot add constraint execution_snapshot_seen_interval check (first_seen_at <= last_seen_at)
  `.execute(db)
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
