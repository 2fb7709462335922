import { type Kysely, sql } from "kysely"

// `list` reads a pipeline's latest states newest first (`start_time desc nulls last`, then id). The
// 0001/0003 indexes could not give that order (a descending index puts nulls first), so PostgreSQL
// scanned every head and sorted. This one gives the order and covers the head columns `list`
// filters on, so it is an index-only scan. The status index served no query pipetrail makes and
// cost a write on every state change.

export const up = async (db: Kysely<any>): Promise<void> => {
  await sql`
    create index execution_head_pipeline_order
      on execution_head (pipeline_name, start_time desc nulls last, pipeline_execution_id)
      include (source, status, snapshot_id)
  `.execute(db)
  await sql`drop index execution_head_pipeline_start`.execute(db)
  await sql`drop index execution_head_status`.execute(db)
}

export const down = async (db: Kysely<any>): Promise<void> => {
  await sql`create index execution_head_status on execution_head (source, pipeline_name, status)`.execute(db)
  await sql`create index execution_head_pipeline_start on execution_head (pipeline_name, start_time desc)`.execute(db)
  await sql`drop index execution_head_pipeline_order`.execute(db)
}
