import { type Kysely, sql } from "kysely"

// Frozen in time: typed Kysely<any> so later schema changes never rewrite this migration.
//
// Action executions (`ListActionExecutions`), kept with the properties of executions by another
// mechanism than execution_snapshot's. Each distinct content of an action execution is one immutable
// row of `action_state`; each observation (when a response was received, with which content, by
// which run) one immutable row of `action_observation`, recorded once however often it is written.
// The history — the states in observation order (time, content hash, run), a new state wherever the
// content differs from the previous observation's — is derived from those two tables by the view
// `action_snapshot`, so it equals the sorted replay of all observations whatever order they were
// written in, and concurrent writers need no lock beyond the unique keys. `action_head` holds the
// latest observation of each action execution: an upsert that only ever moves it forward in that
// order, which gives the same head whatever order writers run in.

const immutable = async (db: Kysely<any>, table: string) => {
  await sql
    .raw(`
      create function ${table}_immutable() returns trigger language plpgsql as $$
      begin
        raise exception '${table} rows are immutable: % refused', tg_op
          using errcode = 'integrity_constraint_violation';
      end
      $$`)
    .execute(db)
  await sql
    .raw(`
      create trigger ${table}_immutable_row before update or delete on ${table}
      for each row execute function ${table}_immutable()`)
    .execute(db)
  await sql
    .raw(`
      create trigger ${table}_immutable_truncate before truncate on ${table}
      for each statement execute function ${table}_immutable()`)
    .execute(db)
}

export const up = async (db: Kysely<any>): Promise<void> => {
  await sql`
    create table action_state (
      id bigint generated always as identity primary key,
      source text not null,
      pipeline_name text not null,
      pipeline_execution_id text not null,
      action_execution_id text not null,
      stage_name text not null,
      action_name text not null,
      category text,
      owner text,
      provider text,
      action_version text,
      status text not null,
      start_time timestamptz,
      last_update_time timestamptz,
      updated_by text,
      external_execution_id text,
      external_execution_summary text,
      external_execution_url text,
      error_code text,
      error_message text,
      log_stream_arn text,
      document jsonb not null,
      document_raw bytea,
      content_hash text not null check (content_hash ~ '^[0-9a-f]{64}$'),
      unique (source, pipeline_name, pipeline_execution_id, action_execution_id, content_hash)
    )
  `.execute(db)
  await sql`create index action_state_execution on action_state (pipeline_execution_id)`.execute(db)
  await sql`create index action_state_approval on action_state (pipeline_name, start_time) where category = 'Approval'`.execute(
    db
  )
  await sql`create index action_state_failure on action_state (pipeline_name, last_update_time) where status = 'Failed'`.execute(
    db
  )
  await immutable(db, "action_state")

  await sql`
    create table action_observation (
      state_id bigint not null references action_state (id),
      observed_at timestamptz not null,
      run_id bigint references snapshot_run (id)
    )
  `.execute(db)
  await sql`
    create unique index action_observation_once on action_observation (state_id, observed_at, (coalesce(run_id, 0)))
  `.execute(db)
  await immutable(db, "action_observation")

  await sql`
    create table action_head (
      source text not null,
      pipeline_name text not null,
      pipeline_execution_id text not null,
      action_execution_id text not null,
      state_id bigint not null references action_state (id),
      observed_at timestamptz not null,
      content_hash text not null,
      run_id bigint,
      primary key (source, pipeline_name, pipeline_execution_id, action_execution_id)
    )
  `.execute(db)
  await sql`create index action_head_state on action_head (state_id)`.execute(db)
  await sql`create index action_head_execution on action_head (pipeline_execution_id)`.execute(db)

  // Which state of an execution its action executions were last fetched completely for: a job
  // fetches them again only for an execution that changed since, or that has not ended.
  await sql`alter table execution_head add column actions_synced_hash text`.execute(db)
  // A run's action counts: observations received, and contents stored for the first time.
  await sql`
    alter table snapshot_run
      add column actions_fetched integer not null default 0,
      add column new_action_states integer not null default 0
  `.execute(db)

  // Every state of every action execution, in observation order, as the replay of its observations.
  await sql`
    create view action_snapshot as
    with ordered as (
      select s.source, s.pipeline_name, s.pipeline_execution_id, s.action_execution_id, o.state_id, s.content_hash,
        o.observed_at, o.run_id,
        row_number() over w as n,
        case when lag(s.content_hash) over w = s.content_hash then 0 else 1 end as starts
      from action_observation o
      join action_state s on s.id = o.state_id
      window w as (
        partition by s.source, s.pipeline_name, s.pipeline_execution_id, s.action_execution_id
        order by o.observed_at, s.content_hash collate "C", coalesce(o.run_id, 0)
      )
    ),
    numbered as (
      select *, sum(starts) over (
        partition by source, pipeline_name, pipeline_execution_id, action_execution_id order by n
      )::int as seq
      from ordered
    ),
    states as (
      select source, pipeline_name, pipeline_execution_id, action_execution_id, seq, min(state_id) as state_id,
        min(observed_at) as first_seen_at, max(observed_at) as last_seen_at, count(*)::int as seen_count,
        (array_agg(run_id order by n))[1] as first_run_id, (array_agg(run_id order by n desc))[1] as last_run_id
      from numbered
      group by source, pipeline_name, pipeline_execution_id, action_execution_id, seq
    )
    select st.source, st.pipeline_name, st.pipeline_execution_id, st.action_execution_id, st.seq, st.state_id,
      s.stage_name, s.action_name, s.category, s.owner, s.provider, s.action_version, s.status,
      s.start_time, s.last_update_time, s.updated_by, s.external_execution_id, s.external_execution_summary,
      s.external_execution_url, s.error_code, s.error_message, s.log_stream_arn, s.document, s.content_hash,
      st.first_seen_at, st.last_seen_at, st.seen_count, st.first_run_id, st.last_run_id
    from states st
    join action_state s on s.id = st.state_id
  `.execute(db)

  // The latest state of each action execution. Its key columns are the state's (the head's hold the
  // same values), so a filter on them reaches action_state's indexes (the approval report's).
  await sql`
    create view action_latest as
    select s.source, s.pipeline_name, s.pipeline_execution_id, s.action_execution_id, h.state_id,
      s.stage_name, s.action_name, s.category, s.owner, s.provider, s.action_version, s.status,
      s.start_time, s.last_update_time, s.updated_by, s.external_execution_id, s.external_execution_summary,
      s.external_execution_url, s.error_code, s.error_message, s.log_stream_arn, s.document, s.content_hash,
      h.observed_at as last_seen_at
    from action_head h
    join action_state s on s.id = h.state_id
  `.execute(db)

  // Every manual approval: who decided, when, after how long, and what they said. A failed approval
  // with no approver was not rejected by anyone (it expired, or failed otherwise): its decision is 'failed'.
  await sql`
    create view approval as
    select source, pipeline_name, pipeline_execution_id, stage_name, action_name, action_execution_id,
      start_time as requested_at,
      case when status in ('Succeeded', 'Failed') then last_update_time end as decided_at,
      case when status in ('Succeeded', 'Failed') then extract(epoch from last_update_time - start_time)::float8 end
        as wait_seconds,
      case status
        when 'Succeeded' then 'approved'
        when 'Failed' then case when updated_by is null then 'failed' else 'rejected' end
        when 'InProgress' then 'pending'
        when 'Abandoned' then 'abandoned'
        else status
      end as decision,
      updated_by as decided_by,
      external_execution_summary as comment,
      external_execution_url as url,
      status,
      last_seen_at
    from action_latest
    where category = 'Approval'
  `.execute(db)

  // Every failed action execution, with its error and where to look.
  await sql`
    create view action_failure as
    select source, pipeline_name, pipeline_execution_id, stage_name, action_name, action_execution_id,
      category, provider, start_time as started_at, last_update_time as failed_at, error_code, error_message,
      external_execution_id, external_execution_url, log_stream_arn, updated_by, external_execution_summary
    from action_latest
    where status = 'Failed'
  `.execute(db)

  // Per execution and stage: when it started and ended, how long it took, how it ended, how often it was retried.
  await sql`
    create view stage_duration as
    with attempts as (
      select *, row_number() over (
        partition by source, pipeline_name, pipeline_execution_id, stage_name, action_name
        order by start_time desc nulls last, action_execution_id desc
      ) as attempt
      from action_latest
    ),
    stages as (
      select source, pipeline_name, pipeline_execution_id, stage_name,
        min(start_time) as started_at,
        max(last_update_time) as last_update_time,
        bool_or(attempt = 1 and status = 'InProgress') as running,
        bool_or(attempt = 1 and status = 'Failed') as failed,
        bool_or(attempt = 1 and status = 'Abandoned') as abandoned,
        bool_and(attempt > 1 or status = 'Succeeded') as succeeded,
        (array_agg(status order by last_update_time desc nulls last) filter (where attempt = 1))[1] as last_status,
        count(*) filter (where attempt = 1)::int as actions,
        count(*) filter (where attempt > 1)::int as retried_actions
      from attempts
      group by source, pipeline_name, pipeline_execution_id, stage_name
    )
    select source, pipeline_name, pipeline_execution_id, stage_name, started_at,
      case when running then null else last_update_time end as ended_at,
      case when running then null else extract(epoch from last_update_time - started_at)::float8 end as duration_seconds,
      case
        when running then 'InProgress'
        when failed then 'Failed'
        when abandoned then 'Abandoned'
        when succeeded then 'Succeeded'
        else last_status
      end as status,
      actions, retried_actions
    from stages
  `.execute(db)
}

export const down = async (db: Kysely<any>): Promise<void> => {
  await sql`drop view stage_duration, action_failure, approval, action_latest, action_snapshot`.execute(db)
  await sql`alter table execution_head drop column actions_synced_hash`.execute(db)
  await sql`alter table snapshot_run drop column actions_fetched, drop column new_action_states`.execute(db)
  await sql`drop table action_head, action_observation, action_state`.execute(db)
  await sql`drop function action_observation_immutable, action_state_immutable`.execute(db)
}
