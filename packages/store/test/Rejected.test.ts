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
    })
  })
}
