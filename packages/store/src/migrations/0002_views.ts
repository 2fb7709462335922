import { type Kysely, sql } from "kysely"

// Views for SQL users; their definitions are documented in docs/sql.md.

export const up = async (db: Kysely<any>): Promise<void> => {
  await sql`
    create view latest_execution as
    select s.id as snapshot_id, s.source, s.pipeline_name, s.pipeline_execution_id, s.seq as state_count,
      s.pipeline_version, s.status, s.status_summary, s.trigger_type, s.trigger_detail, s.execution_mode,
      s.execution_type, s.rollback_target_execution_id, s.start_time, s.last_update_time,
      s.status in ('Cancelled', 'Stopped', 'Succeeded', 'Superseded', 'Failed') as is_terminal,
      s.document, s.content_hash, s.first_seen_at, s.last_seen_at, s.seen_count
    from execution_head h
    join execution_snapshot s on s.id = h.snapshot_id
  `.execute(db)

  await sql`
    create view status_transition as
    select snapshot_id, source, pipeline_name, pipeline_execution_id, seq, from_status, to_status, observed_at, last_update_time
    from (
      select id as snapshot_id, source, pipeline_name, pipeline_execution_id, seq,
        lag(status) over w as from_status, status as to_status,
        first_seen_at as observed_at, last_update_time
      from execution_snapshot
      window w as (partition by source, pipeline_name, pipeline_execution_id order by seq)
    ) states
    where from_status is distinct from to_status
  `.execute(db)

  await sql`
    create view execution_duration as
    select source, pipeline_name, pipeline_execution_id, status, execution_type, start_time, end_time,
      extract(epoch from end_time - start_time)::float8 as duration_seconds
    from (
      select source, pipeline_name, pipeline_execution_id, status, execution_type, start_time,
        case when is_terminal then coalesce(last_update_time, first_seen_at) end as end_time
      from latest_execution
    ) e
  `.execute(db)

  await sql`
    create view delivery_metrics_daily as
    with finished as (
      select source, pipeline_name, pipeline_execution_id, status,
        coalesce(execution_type, 'STANDARD') as execution_type,
        coalesce(last_update_time, first_seen_at) as end_time,
        (select max((a ->> 'created')::timestamptz)
           from jsonb_array_elements(
             case when jsonb_typeof(document -> 'artifactRevisions') = 'array' then document -> 'artifactRevisions' else '[]'::jsonb end
           ) a
          where a ? 'created') as revision_created
      from latest_execution
      where status in ('Succeeded', 'Failed')
    ),
    restores as (
      select f.source, f.pipeline_name, f.end_time as failed_at,
        (select min(s.end_time) from finished s
          where s.source = f.source and s.pipeline_name = f.pipeline_name
            and s.status = 'Succeeded' and s.end_time > f.end_time) as restored_at
      from finished f
      where f.status = 'Failed'
    ),
    daily as (
      select source, pipeline_name, (end_time at time zone 'UTC')::date as day,
        count(*) filter (where status = 'Succeeded' and execution_type <> 'ROLLBACK')::int as deployments,
        count(*) filter (where status = 'Succeeded' and execution_type = 'ROLLBACK')::int as rollbacks,
        count(*) filter (where status = 'Failed' and execution_type <> 'ROLLBACK')::int as failures,
        avg(extract(epoch from end_time - revision_created))
          filter (where status = 'Succeeded' and execution_type <> 'ROLLBACK' and revision_created is not null)::float8
          as lead_time_avg_seconds,
        (percentile_cont(0.5) within group (order by extract(epoch from end_time - revision_created)::float8)
          filter (where status = 'Succeeded' and execution_type <> 'ROLLBACK' and revision_created is not null))::float8
          as lead_time_median_seconds
      from finished
      group by source, pipeline_name, (end_time at time zone 'UTC')::date
    ),
    restored as (
      select source, pipeline_name, (failed_at at time zone 'UTC')::date as day,
        avg(extract(epoch from restored_at - failed_at))::float8 as time_to_restore_avg_seconds,
        count(*) filter (where restored_at is null)::int as unrestored_failures
      from restores
      group by source, pipeline_name, (failed_at at time zone 'UTC')::date
    )
    select d.source, d.pipeline_name, d.day, d.deployments, d.rollbacks, d.failures,
      (d.failures::float8 / nullif(d.deployments + d.failures, 0)) as change_failure_rate,
      d.lead_time_avg_seconds, d.lead_time_median_seconds,
      r.time_to_restore_avg_seconds, coalesce(r.unrestored_failures, 0) as unrestored_failures
    from daily d
    left join restored r on r.source = d.source and r.pipeline_name = d.pipeline_name and r.day = d.day
  `.execute(db)
}

export const down = async (db: Kysely<any>): Promise<void> => {
  await sql`drop view delivery_metrics_daily, execution_duration, status_transition, latest_execution`.execute(db)
}
