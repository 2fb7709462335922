import { type Kysely, sql } from "kysely"

// A rejected response used to be kept as the SDK's parsed and re-serialized object, or as nothing
// when the SDK could not parse it (a truncated body, a proxy's HTML page). It is now kept as the
// bytes that arrived, in `payload`, with what identifies the HTTP answer: its status, the service's
// request id and the content type. Rows kept before this migration have nulls there, and their
// `payload` is what they always were (the re-serialized object): `payload_is_raw` says which.

export const up = async (db: Kysely<any>): Promise<void> => {
  await sql`
    alter table rejected_response
      add column http_status integer,
      add column request_id text,
      add column content_type text,
      add column payload_is_raw boolean not null default false
  `.execute(db)
}

export const down = async (db: Kysely<any>): Promise<void> => {
  await sql`
    alter table rejected_response
      drop column payload_is_raw,
      drop column content_type,
      drop column request_id,
      drop column http_status
  `.execute(db)
}
