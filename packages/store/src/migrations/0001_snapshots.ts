import { type Kysely, sql } from "kysely"

// Frozen in time: typed Kysely<any> so later schema changes never rewrite this migration.

export const up = async (db: Kysely<any>): Promise<void> => {
  await sql`
    create table snapshot_run (
      id bigint generated always as identity primary key,
      source text not null,
      started_at timestamptz not null default now(),
      finished_at timestamptz,
      selection jsonb not null default '{}'::jsonb,
      fetched integer not null default 0,
      new_snapshots integer not null default 0,
      unchanged integer not null default 0,
      rejected integer not null default 0,
      failed integer not null default 0,
      outcome text not null default 'running'
        check (outcome in ('running', 'succeeded', 'partial', 'failed', 'interrupted')),
      error text
    )
  `.execute(db)

  await sql`
    create table execution_snapshot (
      id bigint generated always as identity primary key,
      source text not null,
      pipeline_name text not null,
      pipeline_execution_id text not null,
      seq integer not null check (seq >= 1),
      pipeline_version integer not null,
      status text not null,
      status_summary text,
      trigger_type text,
      trigger_detail text,
      execution_mode text,
      execution_type text,
      rollback_target_execution_id text,
      start_time timestamptz,
      last_update_time timestamptz,
      document jsonb not null,
      document_raw bytea,
      content_hash text not null check (content_hash ~ '^[0-9a-f]{64}$'),
      first_seen_at timestamptz not null,
      last_seen_at timestamptz not null,
      seen_count integer not null default 1 check (seen_count >= 1),
      first_run_id bigint references snapshot_run (id),
      last_run_id bigint references snapshot_run (id),
      unique (source, pipeline_name, pipeline_execution_id, seq)
    )
  `.execute(db)
  await sql`create index execution_snapshot_pipeline_start on execution_snapshot (source, pipeline_name, start_time desc)`.execute(
    db
  )
  await sql`create index execution_snapshot_execution on execution_snapshot (pipeline_execution_id, seq)`.execute(db)

  // The latest state of each execution: the row every writer locks, so concurrent jobs serialize per execution.
  await sql`
    create table execution_head (
      source text not null,
      pipeline_name text not null,
      pipeline_execution_id text not null,
      seq integer not null default 0,
      snapshot_id bigint references execution_snapshot (id),
      content_hash text,
      status text,
      start_time timestamptz,
      last_seen_at timestamptz,
      primary key (source, pipeline_name, pipeline_execution_id)
    )
  `.execute(db)
  await sql`create index execution_head_status on execution_head (source, pipeline_name, status)`.execute(db)

  await sql`
    create table rejected_response (
      id bigint generated always as identity primary key,
      source text not null,
      run_id bigint references snapshot_run (id),
      operation text not null,
      pipeline_name text,
      pipeline_execution_id text,
      payload bytea not null,
      payload_json jsonb,
      issue text not null,
      received_at timestamptz not null default now()
    )
  `.execute(db)

  // Snapshot documents are immutable: enforced here, not by convention.
  await sql`
    create function execution_snapshot_immutable() returns trigger language plpgsql as $$
    begin
      if tg_op = 'DELETE' then
        raise exception 'execution_snapshot rows are immutable: DELETE of snapshot % refused', old.id
          using errcode = 'integrity_constraint_violation';
      end if;
      if tg_op = 'TRUNCATE' then
        raise exception 'execution_snapshot rows are immutable: TRUNCATE refused'
          using errcode = 'integrity_constraint_violation';
      end if;
      if (new.id, new.source, new.pipeline_name, new.pipeline_execution_id, new.seq, new.pipeline_version,
          new.status, new.status_summary, new.trigger_type, new.trigger_detail, new.execution_mode,
          new.execution_type, new.rollback_target_execution_id, new.start_time, new.last_update_time,
          new.document, new.document_raw, new.content_hash, new.first_seen_at, new.first_run_id)
         is distinct from
         (old.id, old.source, old.pipeline_name, old.pipeline_execution_id, old.seq, old.pipeline_version,
          old.status, old.status_summary, old.trigger_type, old.trigger_detail, old.execution_mode,
          old.execution_type, old.rollback_target_execution_id, old.start_time, old.last_update_time,
          old.document, old.document_raw, old.content_hash, old.first_seen_at, old.first_run_id) then
        raise exception 'execution_snapshot documents are immutable: only last_seen_at, seen_count and last_run_id may change (snapshot %)', old.id
          using errcode = 'integrity_constraint_violation';
      end if;
      if new.seen_count < old.seen_count or new.last_seen_at < old.last_seen_at then
        raise exception 'execution_snapshot seen_count and last_seen_at only grow (snapshot %)', old.id
          using errcode = 'integrity_constraint_violation';
      end if;
      return new;
    end
    $$
  `.execute(db)
  await sql`
    create trigger execution_snapshot_immutable_row before update or delete on execution_snapshot
    for each row execute function execution_snapshot_immutable()
  `.execute(db)
  await sql`
    create trigger execution_snapshot_immutable_truncate before truncate on execution_snapshot
    for each statement execute function execution_snapshot_immutable()
  `.execute(db)

  await sql`
    create function rejected_response_immutable() returns trigger language plpgsql as $$
    begin
      raise exception 'rejected_response rows are kept verbatim: % refused', tg_op
        using errcode = 'integrity_constraint_violation';
    end
    $$
  `.execute(db)
  await sql`
    create trigger rejected_response_immutable before update or delete on rejected_response
    for each row execute function rejected_response_immutable()
  `.execute(db)
}

export const down = async (db: Kysely<any>): Promise<void> => {
  await sql`drop table rejected_response, execution_head, execution_snapshot, snapshot_run cascade`.execute(db)
  await sql`drop function execution_snapshot_immutable, rejected_response_immutable`.execute(db)
}
