import { type Kysely, sql } from "kysely"

// The head is written only when an execution moves to a new state, so its time says when that was.

export const up = async (db: Kysely<any>): Promise<void> => {
  await sql`alter table execution_head rename column last_seen_at to changed_at`.execute(db)
}

export const down = async (db: Kysely<any>): Promise<void> => {
  await sql`alter table execution_head rename column changed_at to last_seen_at`.execute(db)
}
