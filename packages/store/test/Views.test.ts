import { assert, describe, layer } from "@effect/vitest"
import { Database, SnapshotStore } from "@pipetrail/store"
import { Effect } from "effect"
import { backends, doc, executionId, freshSource, storeLayer } from "./utils.js"

const at = (iso: string) => new Date(iso)
const revision = (created: string) => [{ name: "SourceArtifact", revisionId: "abc", created }]

for (const backend of backends) {
  describe(`views on ${backend.name}`, () => {
    layer(storeLayer(backend.database), { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect("match hand-computed expectations on a known history", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const { kysely } = yield* Database.Database
          const source = freshSource()
          const [e1, e2, e3, e4, e5, e6] = Array.from({ length: 6 }, executionId)
          const run = (id: string, patch: Record<string, unknown>) => doc(id, { variables: undefined, ...patch })
          yield* store.recordMany([
            {
              source,
              document: run(e1!, {
                status: "InProgress",
                artifactRevisions: revision("2026-06-01T08:00:00Z"),
                startTime: "2026-06-01T09:00:00Z",
                lastUpdateTime: "2026-06-01T09:00:00Z"
              }),
              observedAt: at("2026-06-01T09:01:00Z")
            },
            {
              source,
              document: run(e1!, {
                status: "Succeeded",
                artifactRevisions: revision("2026-06-01T08:00:00Z"),
                startTime: "2026-06-01T09:00:00Z",
                lastUpdateTime: "2026-06-01T10:00:00Z"
              }),
              observedAt: at("2026-06-01T10:02:00Z")
            },
            {
              source,
              document: run(e1!, {
                status: "Succeeded",
                artifactRevisions: revision("2026-06-01T08:00:00Z"),
                startTime: "2026-06-01T09:00:00Z",
                lastUpdateTime: "2026-06-01T10:00:00Z",
                variables: [{ name: "V", resolvedValue: "1" }]
              }),
              observedAt: at("2026-06-01T10:05:00Z")
            },
            {
              source,
              document: run(e2!, {
                status: "Failed",
                artifactRevisions: revision("2026-06-01T09:00:00Z"),
                startTime: "2026-06-01T11:00:00Z",
                lastUpdateTime: "2026-06-01T11:30:00Z"
              }),
              observedAt: at("2026-06-01T11:31:00Z")
            },
            {
              source,
              document: run(e3!, {
                status: "Succeeded",
                artifactRevisions: revision("2026-06-01T10:00:00Z"),
                startTime: "2026-06-01T12:00:00Z",
                lastUpdateTime: "2026-06-01T13:00:00Z"
              }),
              observedAt: at("2026-06-01T13:01:00Z")
            },
            {
              source,
              document: run(e4!, {
                status: "Succeeded",
                executionType: "ROLLBACK",
                artifactRevisions: revision("2026-06-01T08:00:00Z"),
                startTime: "2026-06-02T00:30:00Z",
                lastUpdateTime: "2026-06-02T01:00:00Z"
              }),
              observedAt: at("2026-06-02T01:01:00Z")
            },
            {
              source,
              document: run(e5!, {
                status: "Failed",
                artifactRevisions: revision("2026-06-02T03:00:00Z"),
                startTime: "2026-06-02T04:00:00Z",
                lastUpdateTime: "2026-06-02T05:00:00Z"
              }),
              observedAt: at("2026-06-02T05:01:00Z")
            },
            {
              source,
              document: run(e6!, {
                status: "InProgress",
                startTime: "2026-06-02T06:00:00Z",
                lastUpdateTime: "2026-06-02T06:00:00Z"
              }),
              observedAt: at("2026-06-02T06:01:00Z")
            }
          ])

          const latest = yield* Effect.promise(() =>
            kysely
              .selectFrom("latest_execution")
              .select(["pipeline_execution_id", "status", "state_count", "is_terminal"])
              .where("source", "=", source)
              .execute()
          )
          const byId = new Map(latest.map((r) => [r.pipeline_execution_id, r]))
          assert.strictEqual(latest.length, 6)
          assert.deepStrictEqual(
            { ...byId.get(e1!) },
            { pipeline_execution_id: e1, status: "Succeeded", state_count: 3, is_terminal: true }
          )
          assert.strictEqual(byId.get(e6!)?.is_terminal, false)

          const transitions = yield* Effect.promise(() =>
            kysely
              .selectFrom("status_transition")
              .select(["from_status", "to_status", "observed_at", "seq"])
              .where("source", "=", source)
              .where("pipeline_execution_id", "=", e1!)
              .orderBy("seq")
              .execute()
          )
          assert.deepStrictEqual(
            transitions.map((t) => [t.from_status, t.to_status, t.observed_at.toISOString(), t.seq]),
            [
              [null, "InProgress", "2026-06-01T09:01:00.000Z", 1],
              ["InProgress", "Succeeded", "2026-06-01T10:02:00.000Z", 2]
            ]
          )

          const durations = yield* Effect.promise(() =>
            kysely
              .selectFrom("execution_duration")
              .select(["pipeline_execution_id", "duration_seconds", "end_time"])
              .where("source", "=", source)
              .execute()
          )
          const duration = new Map(durations.map((d) => [d.pipeline_execution_id, d]))
          assert.strictEqual(duration.get(e1!)?.duration_seconds, 3600)
          assert.strictEqual(duration.get(e2!)?.duration_seconds, 1800)
          assert.isNull(duration.get(e6!)?.duration_seconds)
          assert.isNull(duration.get(e6!)?.end_time)

          const metrics = yield* Effect.promise(() =>
            kysely
              .selectFrom("delivery_metrics_daily")
              .selectAll()
              .where("source", "=", source)
              .orderBy("day")
              .execute()
          )
          assert.deepStrictEqual(
            metrics.map((m) => ({
              day: new Date(m.day).toISOString().slice(0, 10),
              deployments: m.deployments,
              rollbacks: m.rollbacks,
              failures: m.failures,
              change_failure_rate: m.change_failure_rate,
              lead_time_avg_seconds: m.lead_time_avg_seconds,
              lead_time_median_seconds: m.lead_time_median_seconds,
              time_to_restore_avg_seconds: m.time_to_restore_avg_seconds,
              unrestored_failures: m.unrestored_failures
            })),
            [
              {
                day: "2026-06-01",
                deployments: 2,
                rollbacks: 0,
                failures: 1,
                change_failure_rate: 1 / 3,
                lead_time_avg_seconds: 9000,
                lead_time_median_seconds: 9000,
                time_to_restore_avg_seconds: 5400,
                unrestored_failures: 0
              },
              {
                day: "2026-06-02",
                deployments: 0,
                rollbacks: 1,
                failures: 1,
                change_failure_rate: 1,
                lead_time_avg_seconds: null,
                lead_time_median_seconds: null,
                time_to_restore_avg_seconds: null,
                unrestored_failures: 1
              }
            ]
          )
        })
      )
    })
  })
}
