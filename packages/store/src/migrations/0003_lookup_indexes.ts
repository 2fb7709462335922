import { type Kysely, sql } from "kysely"

// Lookups by execution id alone (history, diff) and by pipeline across sources (list, views).

export const up = async (db: Kysely<any>): Promise<void> => {
  await sql`create index execution_head_execution_id on execution_head (pipeline_execution_id)`.execute(db)
  await sql`create index execution_head_pipeline_start on execution_head (pipeline_name, start_time desc)`.execute(db)
}

export const down = async (db: Kysely<any>): Promise<void> => {
  await sql`drop index execution_head_pipeline_start, execution_head_execution_id`.execute(db)
}
