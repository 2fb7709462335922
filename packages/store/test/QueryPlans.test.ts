import { assert, describe, it } from "@effect/vitest"
import { ActionExecution, PipelineExecution } from "@pipetrail/core"
import { Database, SnapshotStore } from "@pipetrail/store"
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import type { CompiledQuery, LogEvent } from "kysely"
import { doc, executionId, freshPostgresUrl, freshSource, later, pipelineName, postgresUrl } from "./utils.js"

// The plans behind the reads that must stay fast on a large store (bench 6 and 7): checked on the
// queries the store really sends, with sequential scans, bitmap scans and sorts priced out, so the plan shows whether an index can
// give the rows in the order asked for, as a large store needs.

type Plan = {
  readonly "Node Type": string
  readonly "Index Name"?: string
  readonly "Index Cond"?: string
  readonly Plans?: ReadonlyArray<Plan>
}
const nodes = (plan: Plan): Array<Plan> => [plan, ...(plan.Plans ?? []).flatMap(nodes)]

const backends: ReadonlyArray<{
  name: string
  layer: (log: (event: LogEvent) => void) => Layer.Layer<Database.Database>
}> = [
  { name: "pglite", layer: (log) => Database.layerPglite({ log }).pipe(Layer.orDie) },
  ...(postgresUrl === undefined
    ? []
    : [
        {
          name: "postgres",
          layer: (log: (event: LogEvent) => void) =>
            Layer.unwrapScoped(
              Effect.map(freshPostgresUrl, ({ url }) => Database.layerPostgres({ url: Redacted.make(url), log }))
            ).pipe(Layer.orDie)
        }
      ])
]

for (const backend of backends) {
  describe(`query plans on ${backend.name}`, () => {
    it.scopedLive(
      "list of one pipeline reads a covering index in order, without sorting",
      () =>
        Effect.gen(function* () {
          const sent: Array<CompiledQuery> = []
          const context = yield* Layer.build(
            Layer.provideMerge(
              Layer.effect(SnapshotStore.SnapshotStore, SnapshotStore.make),
              backend.layer((event) => sent.push(event.query))
            )
          )
          const store = Context.get(context, SnapshotStore.SnapshotStore)
          const { kysely } = Context.get(context, Database.Database)
          const source = freshSource()
          yield* store.recordMany(
            Array.from({ length: 5 }, (_, i) => ({
              source,
              document: doc(executionId(), { startTime: new Date(Date.UTC(2026, 5, 1, 10, i)).toISOString() }),
              observedAt: later()
            }))
          )

          const planOf = (list: Effect.Effect<unknown, unknown>) =>
            Effect.gen(function* () {
              sent.length = 0
              yield* Effect.orDie(list)
              const query = sent.find((q) => q.sql.includes('from "execution_head"'))
              assert.isDefined(query, "the list query was sent")
              return yield* Effect.promise(() =>
                kysely.transaction().execute(async (trx) => {
                  for (const setting of ["enable_seqscan", "enable_bitmapscan", "enable_sort"]) {
                    await trx.executeQuery({ ...query!, sql: `set local ${setting} = off`, parameters: [] })
                  }
                  const result = await trx.executeQuery<{ "QUERY PLAN": unknown }>({
                    ...query!,
                    sql: `explain (format json) ${query!.sql}`
                  })
                  const raw = result.rows[0]!["QUERY PLAN"]
                  const json = (typeof raw === "string" ? JSON.parse(raw) : raw) as Array<{ Plan: Plan }>
                  return nodes(json[0]!.Plan)
                })
              )
            })

          for (const filter of [
            { pipelineName: pipelineName("payments-api"), limit: 1000 },
            {
              source,
              pipelineName: pipelineName("payments-api"),
              status: PipelineExecution.PipelineExecutionStatus.of("InProgress"),
              limit: 3
            }
          ]) {
            const plan = yield* planOf(store.list(filter))
            const types = plan.map((n) => n["Node Type"])
            assert.notInclude(types, "Sort", `no sort for ${JSON.stringify(filter)}: ${types.join(" > ")}`)
            assert.isTrue(
              plan.some(
                (n) => n["Node Type"] === "Index Only Scan" && n["Index Name"] === "execution_head_pipeline_order"
              ),
              `an index-only scan of execution_head_pipeline_order for ${JSON.stringify(filter)}: ${types.join(" > ")}`
            )
          }
          // The approval report of one pipeline (bench 10) reads the approvals' partial index, not every action.
          const decision = yield* store.recordActions([
            {
              source,
              pipelineName: pipelineName("payments-api"),
              action: Schema.decodeUnknownSync(ActionExecution.ActionExecution)({
                pipelineExecutionId: executionId(),
                actionExecutionId: "approve-1",
                stageName: "Approve",
                actionName: "Approve",
                status: "Succeeded",
                startTime: Date.UTC(2026, 5, 1, 11) / 1000,
                input: { actionTypeId: { category: "Approval", owner: "AWS", provider: "Manual", version: "1" } }
              }),
              observedAt: later()
            }
          ])
          assert.lengthOf(decision, 1)
          sent.length = 0
          const approvals = yield* store.approvals({
            pipelineName: pipelineName("payments-api"),
            since: new Date(Date.UTC(2026, 4, 1))
          })
          assert.isAtLeast(approvals.length, 1)
          const approvalQuery = sent.find((q) => q.sql.includes('from "approval"'))!
          const approvalPlan = yield* Effect.promise(() =>
            kysely.transaction().execute(async (trx) => {
              for (const setting of ["enable_seqscan", "enable_bitmapscan"]) {
                await trx.executeQuery({ ...approvalQuery, sql: `set local ${setting} = off`, parameters: [] })
              }
              const result = await trx.executeQuery<{ "QUERY PLAN": unknown }>({
                ...approvalQuery,
                sql: `explain (format json) ${approvalQuery.sql}`
              })
              const raw = result.rows[0]!["QUERY PLAN"]
              const json = (typeof raw === "string" ? JSON.parse(raw) : raw) as Array<{ Plan: Plan }>
              return nodes(json[0]!.Plan)
            })
          )
          assert.isTrue(
            approvalPlan.some(
              (n) => n["Index Name"] === "action_state_approval" && (n["Index Cond"] ?? "").includes("pipeline_name")
            ),
            `the approval report reads one pipeline's range of action_state_approval: ${approvalPlan.map((n) => `${n["Node Type"]} ${n["Index Name"] ?? ""} ${n["Index Cond"] ?? ""}`).join(" > ")}`
          )

          // The rows come back newest first, as the plan promises.
          const listed = yield* store.list({ source, pipelineName: pipelineName("payments-api") })
          assert.deepStrictEqual(
            listed.map((s) => s.document.startTime?.toISOString()),
            [4, 3, 2, 1, 0].map((i) => new Date(Date.UTC(2026, 5, 1, 10, i)).toISOString())
          )
        }),
      { timeout: 120_000 }
    )
  })
}
