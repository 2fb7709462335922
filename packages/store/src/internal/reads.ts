import { Diff, ExecutionDocument, Identifiers, PipelineExecution } from "@pipetrail/core"
import { Effect, Either, Option } from "effect"
import { sql } from "kysely"
import type { DatabaseService } from "../Database.js"
import type { ExecutionKey, ListFilter, Snapshot, Source } from "../SnapshotStore.js"
import { ambiguous, notStored, SnapshotNotFoundError, StoredDocumentError } from "./errors.js"
import { storedDocument, toDate, toNumber } from "./observation.js"

// The store's reads: history, latest states, lists, snapshots, diffs and heads.

type SnapshotRow = {
  id: string | number
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  seq: number
  status: string
  document: unknown
  document_raw: Uint8Array | null
  content_hash: string
  first_seen_at: Date | string
  last_seen_at: Date | string
  seen_count: number
}

const snapshotColumns = [
  "id",
  "source",
  "pipeline_name",
  "pipeline_execution_id",
  "seq",
  "status",
  "document",
  "document_raw",
  "content_hash",
  "first_seen_at",
  "last_seen_at",
  "seen_count"
] as const

const toSnapshot = (row: SnapshotRow): Effect.Effect<Snapshot, StoredDocumentError> => {
  const id = toNumber(row.id)
  const raw = storedDocument(row)
  return Either.match(ExecutionDocument.decode(raw), {
    onLeft: (error) =>
      Effect.fail(
        new StoredDocumentError({
          snapshotId: id,
          issue: error.message,
          message: `stored snapshot ${id} does not decode as an execution document`
        })
      ),
    onRight: (document) =>
      Effect.succeed({
        id,
        source: row.source,
        // The decoded document's names: the row's, branded.
        pipelineName: document.pipelineName,
        pipelineExecutionId: document.pipelineExecutionId,
        seq: toNumber(row.seq),
        status: PipelineExecution.PipelineExecutionStatus.of(row.status),
        document,
        contentHash: row.content_hash,
        firstSeenAt: toDate(row.first_seen_at),
        lastSeenAt: toDate(row.last_seen_at),
        seenCount: toNumber(row.seen_count)
      })
  })
}

/** The reads over `db`. */
export const makeReads = (db: DatabaseService) => {
  const resolve = (key: ExecutionKey) =>
    Effect.gen(function* () {
      const candidates = yield* db.use("find execution", (k) => {
        let q = k
          .selectFrom("execution_head")
          .select(["source", "pipeline_name"])
          .where("pipeline_execution_id", "=", key.pipelineExecutionId)
          .where("snapshot_id", "is not", null)
        if (key.source !== undefined) q = q.where("source", "=", key.source)
        if (key.pipelineName !== undefined) q = q.where("pipeline_name", "=", key.pipelineName)
        return q.orderBy("source").orderBy("pipeline_name").execute()
      })
      if (candidates.length > 1) {
        return yield* ambiguous(key.pipelineExecutionId, candidates)
      }
      return Option.fromNullable(candidates[0])
    })

  const history = (key: ExecutionKey) =>
    Effect.gen(function* () {
      // One round trip: every state of every stored execution with this id, then checked for ambiguity.
      const rows = (yield* db.use("read history", (k) => {
        let q = k
          .selectFrom("execution_snapshot")
          .select(snapshotColumns)
          .where("pipeline_execution_id", "=", key.pipelineExecutionId)
        if (key.source !== undefined) q = q.where("source", "=", key.source)
        if (key.pipelineName !== undefined) q = q.where("pipeline_name", "=", key.pipelineName)
        return q.orderBy("source").orderBy("pipeline_name").orderBy("seq").execute()
      })) as Array<SnapshotRow>
      if (rows.length === 0) {
        return yield* notStored(key.pipelineExecutionId)
      }
      const owners = [...new Map(rows.map((r) => [`${r.source}\u0000${r.pipeline_name}`, r])).values()]
      if (owners.length > 1) {
        return yield* ambiguous(key.pipelineExecutionId, owners)
      }
      const snapshots = yield* Effect.forEach(rows, toSnapshot)
      return snapshots.map((snapshot, i) => ({
        snapshot,
        changes: i === 0 ? [] : Diff.diff(snapshots[i - 1]!.document, snapshot.document)
      }))
    })

  const latest = (key: ExecutionKey) =>
    Effect.gen(function* () {
      const found = yield* resolve(key)
      if (Option.isNone(found)) return Option.none<Snapshot>()
      const row = yield* db.use("read latest state", (k) =>
        k
          .selectFrom("execution_head as h")
          .innerJoin("execution_snapshot as s", "s.id", "h.snapshot_id")
          .select(snapshotColumns.map((c) => `s.${c}` as const))
          .where("h.source", "=", found.value.source)
          .where("h.pipeline_name", "=", found.value.pipeline_name)
          .where("h.pipeline_execution_id", "=", key.pipelineExecutionId)
          .executeTakeFirst()
      )
      return row === undefined ? Option.none<Snapshot>() : Option.some(yield* toSnapshot(row as SnapshotRow))
    })

  const list = (filter: ListFilter = {}) =>
    Effect.gen(function* () {
      const rows = yield* db.use("list executions", (k) => {
        let q = k
          .selectFrom("execution_head as h")
          .innerJoin("execution_snapshot as s", "s.id", "h.snapshot_id")
          .select(snapshotColumns.map((c) => `s.${c}` as const))
        if (filter.source !== undefined) q = q.where("h.source", "=", filter.source)
        if (filter.pipelineName !== undefined) q = q.where("h.pipeline_name", "=", filter.pipelineName)
        if (filter.status !== undefined) q = q.where("h.status", "=", filter.status)
        if (filter.since !== undefined) q = q.where("h.start_time", ">=", filter.since)
        if (filter.until !== undefined) q = q.where("h.start_time", "<", filter.until)
        return q
          .orderBy(sql`h.start_time desc nulls last`)
          .orderBy("h.pipeline_execution_id")
          .limit(filter.limit ?? 100)
          .execute()
      })
      return yield* Effect.forEach(rows as Array<SnapshotRow>, toSnapshot)
    })

  const snapshot = (id: number) =>
    Effect.gen(function* () {
      const row = yield* db.use("read snapshot", (k) =>
        k.selectFrom("execution_snapshot").select(snapshotColumns).where("id", "=", id).executeTakeFirst()
      )
      if (row === undefined) {
        return yield* new SnapshotNotFoundError({ snapshotId: id, message: `no snapshot with id ${id}` })
      }
      return yield* toSnapshot(row as SnapshotRow)
    })

  const diffSnapshots = (a: number, b: number) =>
    Effect.zipWith(snapshot(a), snapshot(b), (x, y) => Diff.diff(x.document, y.document))

  const heads = (source: Source, pipelineNames?: ReadonlyArray<Identifiers.PipelineName>) =>
    db.use("read execution heads", async (k) => {
      let q = k
        .selectFrom("execution_head")
        .select([
          "source",
          "pipeline_name",
          "pipeline_execution_id",
          "status",
          "seq",
          "content_hash",
          "actions_synced_hash"
        ])
        .where("source", "=", source)
        .where("snapshot_id", "is not", null)
      if (pipelineNames !== undefined) {
        if (pipelineNames.length === 0) return []
        q = q.where("pipeline_name", "in", pipelineNames)
      }
      const rows = await q.execute()
      // Written from decoded documents, so valid: branded without checking each again.
      return rows.map((r) => ({
        source: r.source,
        pipelineName: Identifiers.PipelineName.make(r.pipeline_name, true),
        pipelineExecutionId: Identifiers.PipelineExecutionId.make(r.pipeline_execution_id, true),
        status: PipelineExecution.PipelineExecutionStatus.of(r.status ?? ""),
        seq: toNumber(r.seq),
        contentHash: r.content_hash ?? undefined,
        actionsSynced: r.actions_synced_hash !== null && r.actions_synced_hash === r.content_hash
      }))
    })

  return { history, latest, list, snapshot, diffSnapshots, heads }
}
