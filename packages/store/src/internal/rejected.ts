import { Canonical } from "@pipetrail/core"
import type { DatabaseService } from "../Database.js"
import type { RejectedInput } from "../SnapshotStore.js"
import { clean, toNumber } from "./observation.js"

// Responses that were not stored as an execution, kept: `rejected_response`.

/** Keeps a rejected response over `db`; returns its id. */
export const makeRecordRejected = (db: DatabaseService) => (input: RejectedInput) =>
  db.use(`keep rejected ${input.operation} payload`, async (k) => {
    const raw = input.response
    const text =
      raw !== undefined
        ? Buffer.from(raw.body).toString("utf8")
        : typeof input.payload === "string"
          ? input.payload
          : Canonical.stringify(input.payload)
    let json: string | null = null
    try {
      const parsed: unknown = JSON.parse(text)
      // jsonb holds no NUL and PostgreSQL refuses very deep nesting: such payloads stay bytes only.
      json =
        text.includes("\\u0000") || Canonical.deeperThan(parsed, Canonical.maxDepth)
          ? null
          : Canonical.stringify(parsed)
    } catch {
      json = null
    }
    const row = await k
      .insertInto("rejected_response")
      .values({
        source: input.source,
        run_id: input.runId ?? null,
        operation: input.operation,
        pipeline_name: clean(input.pipelineName),
        pipeline_execution_id: clean(input.pipelineExecutionId),
        payload: raw !== undefined ? Buffer.from(raw.body) : Buffer.from(text, "utf8"),
        payload_json: json,
        issue: clean(input.issue) ?? "",
        http_status: raw?.status ?? null,
        request_id: clean(raw?.requestId),
        content_type: clean(raw?.contentType),
        payload_is_raw: raw !== undefined
      })
      .returning("id")
      .executeTakeFirstOrThrow()
    return toNumber(row.id)
  })
