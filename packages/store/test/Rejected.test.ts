import { assert, describe, layer } from "@effect/vitest"
import { Canonical } from "@pipetrail/core"
import { Database, SnapshotStore } from "@pipetrail/store"
import { Effect, FastCheck as fc } from "effect"
import { backends, freshSource, storeLayer } from "./utils.js"

const payloads = fc.oneof(
  fc.jsonValue(),
  fc.string({ unit: "binary" }),
  fc.string().map((s) => `${s}\u0000${s}`),
  fc.integer({ min: 65, max: 3000 }).map((depth) => {
    let v: unknown = "bottom"
    for (let i = 0; i < depth; i++) v = { n: v }
    return v
  }),
  fc.string({ minLength: 200_000, maxLength: 300_000 })
)

for (const backend of backends) {
  describe(`rejected payloads on ${backend.name}`, () => {
    layer(storeLayer(backend.database), { timeout: 120_000, excludeTestServices: true })((it) => {
      it.effect("any payload is kept verbatim, whatever it holds", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const { kysely } = yield* Database.Database
          const source = freshSource()
          const samples = fc.sample(payloads, { numRuns: 60, seed: 42 })
          for (const payload of samples) {
            const id = yield* store.recordRejected({
              source,
              operation: "GetPipelineExecution",
              payload,
              issue: "fuzz"
            })
            const row = yield* Effect.promise(() =>
              kysely
                .selectFrom("rejected_response")
                .select(["payload", "payload_json"])
                .where("id", "=", id)
                .executeTakeFirstOrThrow()
            )
            const expected = typeof payload === "string" ? payload : Canonical.stringify(payload)
            assert.strictEqual(Buffer.from(row.payload).toString("utf8"), expected)
          }
          const count = yield* Effect.promise(() =>
            kysely
              .selectFrom("rejected_response")
              .select((eb) => eb.fn.countAll<number>().as("n"))
              .where("source", "=", source)
              .executeTakeFirstOrThrow()
          )
          assert.strictEqual(Number(count.n), samples.length)
        })
      )

      // Invariant: a response's bytes come back exactly as they arrived, whatever they are.
      it.effect("any HTTP response is kept as its exact bytes, with status, request id and content type", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const { kysely } = yield* Database.Database
          const source = freshSource()
          const bodies = fc.oneof(
            fc.uint8Array({ maxLength: 2_000 }),
            fc.string({ unit: "binary" }).map((s) => new TextEncoder().encode(s)),
            fc.constant(new TextEncoder().encode("<html><body>502</body></html>")),
            fc.constant(Uint8Array.from([0xff, 0xfe, 0x00, 0x7b, 0x22]))
          )
          for (const body of fc.sample(bodies, { numRuns: 60, seed: 10 })) {
            const id = yield* store.recordRejected({
              source,
              operation: "GetPipelineExecution",
              payload: null,
              issue: "raw",
              response: { status: 200, requestId: "req-9", contentType: "text/html", body }
            })
            const row = yield* Effect.promise(() =>
              kysely
                .selectFrom("rejected_response")
                .select(["payload", "http_status", "request_id", "content_type", "payload_is_raw"])
                .where("id", "=", id)
                .executeTakeFirstOrThrow()
            )
            assert.deepStrictEqual(Buffer.from(row.payload), Buffer.from(body))
            assert.deepStrictEqual(
              [row.http_status, row.request_id, row.content_type, row.payload_is_raw],
              [200, "req-9", "text/html", true]
            )
          }
        })
      )
    })
  })
}
