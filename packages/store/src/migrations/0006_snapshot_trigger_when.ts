import { type Kysely, sql } from "kysely"

// Counting an unchanged fetch updates its snapshot row, and every update ran the PL/pgSQL check
// of 0001. The same check now sits in the trigger's WHEN clause, evaluated without a function
// call; the function runs (and refuses) only when a document column changes or a counter goes
// back. Deletes are refused as before, by a trigger of their own.

const documentColumns = [
  "id",
  "source",
  "pipeline_name",
  "pipeline_execution_id",
  "seq",
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
  "content_hash",
  "first_seen_at",
  "first_run_id"
]

/** The document columns of one row of the trigger, `new` or `old`, as a row constructor's items. */
const row = (alias: "new" | "old") => sql.raw(documentColumns.map((column) => `${alias}.${column}`).join(", "))

export const up = async (db: Kysely<any>): Promise<void> => {
  await sql`drop trigger execution_snapshot_immutable_row on execution_snapshot`.execute(db)
  await sql`
    create trigger execution_snapshot_immutable_delete before delete on execution_snapshot
    for each row execute function execution_snapshot_immutable()
  `.execute(db)
  await sql`
    create trigger execution_snapshot_immutable_update before update on execution_snapshot
    for each row
    when ((${row("new")}) is distinct from (${row("old")})
      or new.seen_count < old.seen_count or new.last_seen_at < old.last_seen_at)
    execute function execution_snapshot_immutable()
  `.execute(db)
}

export const down = async (db: Kysely<any>): Promise<void> => {
  await sql`drop trigger execution_snapshot_immutable_update on execution_snapshot`.execute(db)
  await sql`drop trigger execution_snapshot_immutable_delete on execution_snapshot`.execute(db)
  await sql`
    create trigger execution_snapshot_immutable_row before update or delete on execution_snapshot
    for each row execute function execution_snapshot_immutable()
  `.execute(db)
}
