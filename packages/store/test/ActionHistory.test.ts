import { readFileSync } from "node:fs"
import { assert, describe, layer } from "@effect/vitest"
import { ActionExecution, ExecutionDocument } from "@pipetrail/core"
import { Database, SnapshotStore } from "@pipetrail/store"
import { Effect, FastCheck as fc, Schema } from "effect"
import { sql } from "kysely"
import { backends, batchesOf, doc, executionId, freshSource, pipelineName, storeLayer, writeScenario } from "./utils.js"

// The contract for action executions is the executions' one: an action execution's stored history
// equals the replay of all its observations sorted by (observedAt, content hash, run), each
// distinct observation once, a new state wherever the content differs from the previous one's;
// however they were batched, interleaved across writers, retried or delayed.

const decode = Schema.decodeUnknownSync(ActionExecution.ActionExecution, { onExcessProperty: "preserve" })

/** An action execution of `execution` with `patch` applied. */
const action = (execution: string, actionExecutionId: string, patch: Record<string, unknown> = {}) =>
  decode({
    pipelineExecutionId: execution,
    actionExecutionId,
    pipelineVersion: 3,
    stageName: "Deploy",
    actionName: "Deploy",
    startTime: "2026-06-01T10:00:00.000Z",
    lastUpdateTime: "2026-06-01T10:00:00.000Z",
    status: "InProgress",
    input: { actionTypeId: { category: "Deploy", owner: "AWS", provider: "CodeDeploy", version: "1" } },
    ...patch
  })

/** The contents an action execution moves between, back and forth. */
const variants = (execution: string, id: string) => [
  action(execution, id),
  action(execution, id, { status: "Succeeded", lastUpdateTime: "2026-06-01T10:05:00.000Z" }),
  action(execution, id, {
    status: "Failed",
    lastUpdateTime: "2026-06-01T10:04:00.000Z",
    output: { executionResult: { errorDetails: { code: "JobFailed", message: "health checks failed" } } }
  }),
  action(execution, id, { lastUpdateTime: "2026-06-01T10:01:00.000Z", output: { outputVariables: { N: "2" } } })
]

const observation = fc.record({
  action: fc.nat(2),
  variant: fc.nat(3),
  minute: fc.nat(5),
  run: fc.constantFrom(null, 0, 1)
})

const scenario = writeScenario(observation)

type Scenario = typeof scenario extends fc.Arbitrary<infer A> ? A : never

interface State {
  readonly action: string
  readonly hash: string
  readonly status: string
  readonly first: number
  last: number
  seen: number
  readonly firstRun: number | null
  lastRun: number | null
}

/** The sequential replay, in memory. */
const replay = (inputs: ReadonlyArray<SnapshotStore.ActionRecordInput>) => {
  const sorted = inputs
    .map((input) => ({
      input,
      hash: ActionExecution.contentHash(input.action),
      at: input.observedAt.getTime(),
      run: input.runId ?? null
    }))
    .sort((a, b) => a.at - b.at || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0) || (a.run ?? 0) - (b.run ?? 0))
  const histories = new Map<string, Array<State>>()
  const seen = new Set<string>()
  for (const m of sorted) {
    const id = m.input.action.actionExecutionId as string
    const identity = JSON.stringify([id, m.at, m.hash, m.run])
    if (seen.has(identity)) continue
    seen.add(identity)
    const states = histories.get(id) ?? []
    histories.set(id, states)
    const last = states.at(-1)
    if (last !== undefined && last.hash === m.hash) {
      last.seen++
      last.last = m.at
      last.lastRun = m.run
    } else {
      states.push({
        action: id,
        hash: m.hash,
        status: m.input.action.status,
        first: m.at,
        last: m.at,
        seen: 1,
        firstRun: m.run,
        lastRun: m.run
      })
    }
  }
  return histories
}

const normalize = (rows: ReadonlyArray<Record<string, unknown>>) =>
  rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([key, value]) => [
        key,
        value instanceof Date
          ? value.toISOString()
          : typeof value === "bigint" || (key.endsWith("run_id") && value !== null)
            ? Number(value)
            : value
      ])
    )
  )

const storedOf = (db: Database.DatabaseService, source: string) =>
  Effect.promise(async () => {
    const states = await sql<Record<string, unknown>>`
      select action_execution_id, seq, content_hash, status, first_seen_at, last_seen_at, seen_count, first_run_id, last_run_id
      from action_snapshot where source = ${source} order by action_execution_id, seq
    `.execute(db.kysely)
    const latest = await sql<Record<string, unknown>>`
      select action_execution_id, content_hash, status from action_latest where source = ${source} order by action_execution_id
    `.execute(db.kysely)
    return { states: normalize(states.rows), latest: normalize(latest.rows) }
  })

const iso = (ms: number) => new Date(ms).toISOString()

for (const backend of backends) {
  describe(`action history on ${backend.name}`, () => {
    layer(storeLayer(backend.database), { timeout: 300_000, excludeTestServices: true })((it) => {
      it.effect(
        "any write order, batching, 1–4 concurrent writers and retried batches give the history of the sorted replay",
        () =>
          Effect.gen(function* () {
            const store = yield* SnapshotStore.SnapshotStore
            const db = yield* Database.Database
            const runs = [yield* store.startRun("action-test", {}), yield* store.startRun("action-test", {})]
            const check = (written: Scenario) =>
              Effect.gen(function* () {
                const { observations, retried } = written
                const e1 = executionId()
                const e2 = executionId()
                const keys = [
                  [e1, `${e1}-a`],
                  [e1, `${e1}-b`],
                  [e2, `${e2}-a`]
                ] as const
                const contents = keys.map(([e, id]) => variants(e, id))
                const base = Date.UTC(2026, 5, 1, 10)
                const source = freshSource()
                const inputs = observations.map(
                  (o): SnapshotStore.ActionRecordInput => ({
                    source,
                    pipelineName: pipelineName("payments-api"),
                    action: contents[o.action]![o.variant]!,
                    observedAt: new Date(base + o.minute * 60_000),
                    ...(o.run === null ? {} : { runId: runs[o.run]! })
                  })
                )
                const batches = batchesOf(written, inputs)
                const results = yield* Effect.forEach(
                  [0, 1, 2, 3].map((w) => batches.filter((b) => b.writer === w)),
                  (mine) => Effect.forEach(mine, (batch) => store.recordActions(batch.items)),
                  { concurrency: "unbounded" }
                )
                yield* Effect.forEach(
                  batches.filter((_, b) => retried[b]),
                  (batch) => store.recordActions(batch.items),
                  { discard: true }
                )
                const expected = replay(inputs)
                // Each distinct content is reported new exactly once, by whichever writer stored it.
                const contentsSeen = new Set(
                  inputs.map((i) => `${i.action.actionExecutionId}#${ActionExecution.contentHash(i.action)}`)
                )
                assert.strictEqual(results.flat(2).filter((r) => r.outcome === "new").length, contentsSeen.size)
                const got = yield* storedOf(db, source)
                const want = [...expected.entries()]
                  .sort(([a], [b]) => (a < b ? -1 : 1))
                  .flatMap(([, history]) =>
                    history.map((s, i) => ({
                      action_execution_id: s.action,
                      seq: i + 1,
                      content_hash: s.hash,
                      status: s.status,
                      first_seen_at: iso(s.first),
                      last_seen_at: iso(s.last),
                      seen_count: s.seen,
                      first_run_id: s.firstRun,
                      last_run_id: s.lastRun
                    }))
                  )
                assert.deepStrictEqual(got.states, want)
                assert.deepStrictEqual(
                  got.latest,
                  [...expected.entries()]
                    .sort(([a], [b]) => (a < b ? -1 : 1))
                    .map(([id, history]) => ({
                      action_execution_id: id,
                      content_hash: history.at(-1)!.hash,
                      status: history.at(-1)!.status
                    }))
                )
              })
            yield* Effect.promise(() =>
              fc.assert(
                fc.asyncProperty(scenario, (s) => Effect.runPromise(check(s))),
                { numRuns: 25 }
              )
            )
          })
      )

      it.effect("the views answer the audit questions: a hand-computed history", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const db = yield* Database.Database
          const source = freshSource()
          const name = pipelineName("payments-api")
          const done = executionId()
          const running = executionId()
          const t = (hhmm: string) => `2026-06-01T${hhmm}:00.000Z`
          const at = (hhmm: string) => new Date(t(hhmm))
          const type = (category: string, provider: string) => ({
            actionTypeId: { category, owner: "AWS", provider, version: "1" }
          })
          const a = (execution: string, id: string, stage: string, category: string, provider: string, patch: object) =>
            action(execution, id, { stageName: stage, actionName: stage, input: type(category, provider), ...patch })
          const observe = (item: ActionExecution.ActionExecution, when: string) => ({
            source,
            pipelineName: name,
            action: item,
            observedAt: at(when)
          })
          yield* store.recordMany([
            { source, document: doc(done, { status: "Failed" }), observedAt: at("10:55") },
            { source, document: doc(running), observedAt: at("10:55") }
          ])
          const approvalPending = a(done, "approve-1", "Approve", "Approval", "Manual", {
            startTime: t("10:10"),
            lastUpdateTime: t("10:10")
          })
          // Observed out of order: the decision first, the pending state (observed earlier) written later.
          yield* store.recordActions([
            observe(
              a(done, "source-1", "Source", "Source", "CodeStarSourceConnection", {
                status: "Succeeded",
                startTime: t("10:00"),
                lastUpdateTime: t("10:01")
              }),
              "10:02"
            ),
            observe(
              a(done, "build-1", "Build", "Build", "CodeBuild", {
                status: "Failed",
                startTime: t("10:01"),
                lastUpdateTime: t("10:05"),
                output: {
                  executionResult: {
                    errorDetails: { code: "JobFailed", message: "exit status 1" },
                    logStreamARN: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/b:log-stream:1"
                  }
                }
              }),
              "10:06"
            ),
            observe(
              a(done, "build-2", "Build", "Build", "CodeBuild", {
                status: "Succeeded",
                startTime: t("10:06"),
                lastUpdateTime: t("10:10")
              }),
              "10:11"
            ),
            observe(
              a(done, "approve-1", "Approve", "Approval", "Manual", {
                status: "Succeeded",
                startTime: t("10:10"),
                lastUpdateTime: t("10:40"),
                updatedBy: "arn:aws:iam::123456789012:user/alice",
                output: {
                  executionResult: {
                    externalExecutionSummary: "LGTM",
                    externalExecutionUrl: "https://example.com/approve"
                  }
                }
              }),
              "10:41"
            ),
            observe(
              a(done, "deploy-1", "Deploy", "Deploy", "CodeDeploy", {
                status: "Failed",
                startTime: t("10:41"),
                lastUpdateTime: t("10:50"),
                output: {
                  executionResult: {
                    errorDetails: { code: "JobFailed", message: "health checks failed" },
                    externalExecutionUrl: "https://example.com/d-1"
                  }
                }
              }),
              "10:51"
            ),
            observe(
              a(running, "approve-2", "Approve", "Approval", "Manual", {
                startTime: t("10:50"),
                lastUpdateTime: t("10:50")
              }),
              "10:51"
            )
          ])
          yield* store.recordActions([observe(approvalPending, "10:12")])

          const rows = (query: ReturnType<typeof sql<Record<string, unknown>>>) =>
            Effect.promise(() => query.execute(db.kysely)).pipe(Effect.map((r) => normalize(r.rows)))
          assert.deepStrictEqual(
            yield* rows(sql`
              select pipeline_execution_id, stage_name, requested_at, decided_at, wait_seconds, decision, decided_by, comment, url
              from approval where source = ${source} order by requested_at
            `),
            [
              {
                pipeline_execution_id: done,
                stage_name: "Approve",
                requested_at: t("10:10"),
                decided_at: t("10:40"),
                wait_seconds: 1800,
                decision: "approved",
                decided_by: "arn:aws:iam::123456789012:user/alice",
                comment: "LGTM",
                url: "https://example.com/approve"
              },
              {
                pipeline_execution_id: running,
                stage_name: "Approve",
                requested_at: t("10:50"),
                decided_at: null,
                wait_seconds: null,
                decision: "pending",
                decided_by: null,
                comment: null,
                url: null
              }
            ]
          )
          assert.deepStrictEqual(
            yield* rows(sql`
              select action_execution_id, stage_name, failed_at, error_code, error_message, external_execution_url, log_stream_arn
              from action_failure where source = ${source} order by failed_at
            `),
            [
              {
                action_execution_id: "build-1",
                stage_name: "Build",
                failed_at: t("10:05"),
                error_code: "JobFailed",
                error_message: "exit status 1",
                external_execution_url: null,
                log_stream_arn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/b:log-stream:1"
              },
              {
                action_execution_id: "deploy-1",
                stage_name: "Deploy",
                failed_at: t("10:50"),
                error_code: "JobFailed",
                error_message: "health checks failed",
                external_execution_url: "https://example.com/d-1",
                log_stream_arn: null
              }
            ]
          )
          assert.deepStrictEqual(
            yield* rows(sql`
              select pipeline_execution_id, stage_name, started_at, ended_at, duration_seconds, status, actions, retried_actions
              from stage_duration where source = ${source} order by pipeline_execution_id = ${running}, started_at
            `),
            [
              {
                pipeline_execution_id: done,
                stage_name: "Source",
                started_at: t("10:00"),
                ended_at: t("10:01"),
                duration_seconds: 60,
                status: "Succeeded",
                actions: 1,
                retried_actions: 0
              },
              {
                pipeline_execution_id: done,
                stage_name: "Build",
                started_at: t("10:01"),
                ended_at: t("10:10"),
                duration_seconds: 540,
                status: "Succeeded",
                actions: 1,
                retried_actions: 1
              },
              {
                pipeline_execution_id: done,
                stage_name: "Approve",
                started_at: t("10:10"),
                ended_at: t("10:40"),
                duration_seconds: 1800,
                status: "Succeeded",
                actions: 1,
                retried_actions: 0
              },
              {
                pipeline_execution_id: done,
                stage_name: "Deploy",
                started_at: t("10:41"),
                ended_at: t("10:50"),
                duration_seconds: 540,
                status: "Failed",
                actions: 1,
                retried_actions: 0
              },
              {
                pipeline_execution_id: running,
                stage_name: "Approve",
                started_at: t("10:50"),
                ended_at: null,
                duration_seconds: null,
                status: "InProgress",
                actions: 1,
                retried_actions: 0
              }
            ]
          )

          // A failed approval no one decided (it expired) is not a rejection.
          const expired = executionId()
          yield* store.recordActions([
            observe(
              a(expired, "approve-3", "Approve", "Approval", "Manual", {
                status: "Failed",
                startTime: t("10:00"),
                lastUpdateTime: t("10:30")
              }),
              "10:31"
            )
          ])
          assert.deepStrictEqual(
            yield* rows(sql`select decision, decided_by from approval where action_execution_id = 'approve-3'`),
            [{ decision: "failed", decided_by: null }]
          )

          // The same through the store's reads.
          const approvals = yield* store.approvals({ source, pipelineName: name, since: at("10:00") })
          assert.deepStrictEqual(
            approvals.map((r) => [r.pipelineExecutionId, r.decision, r.decidedBy ?? null, r.waitSeconds ?? null]),
            [
              [running, "pending", null, null],
              [done, "approved", "arn:aws:iam::123456789012:user/alice", 1800],
              [expired, "failed", null, 1800]
            ]
          )
          assert.lengthOf(yield* store.approvals({ source, since: at("10:30") }), 1)
          assert.lengthOf(yield* store.approvals({ source, since: at("10:00") }), 3)
          const timeline = yield* store.actions({ pipelineExecutionId: done })
          assert.deepStrictEqual(
            timeline.map((s) => [s.action.actionExecutionId, s.action.status]),
            [
              ["source-1", "Succeeded"],
              ["build-1", "Failed"],
              ["build-2", "Succeeded"],
              ["approve-1", "Succeeded"],
              ["deploy-1", "Failed"]
            ]
          )
          const history = yield* store.actionHistory({ pipelineExecutionId: done })
          assert.deepStrictEqual(
            history
              .filter((s) => s.action.actionExecutionId === "approve-1")
              .map((s) => [s.seq, s.action.status, s.firstSeenAt?.toISOString()]),
            [
              [1, "InProgress", t("10:12")],
              [2, "Succeeded", t("10:41")]
            ]
          )
          const missing = yield* store.actions({ pipelineExecutionId: executionId() }).pipe(Effect.flip)
          assert.strictEqual(missing._tag, "ExecutionNotStoredError")

          // Every query docs/sql.md shows runs, read-only as pipetrail sql runs it, on this store.
          const docs = readFileSync(new URL("../../../docs/sql.md", import.meta.url), "utf8")
          const queries = [...docs.matchAll(/```sql\n([\s\S]*?)```/g)]
            .map((m) => m[1]!.trim().replace(/;$/, ""))
            .filter((q) => /^(select|with)\b/i.test(q))
            .map((q) => q.replaceAll("3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4", done))
          assert.isAbove(queries.length, 10)
          for (const query of queries) {
            const result = yield* db
              .queryReadOnly(query)
              .pipe(Effect.orDieWith((e) => new Error(`${query}: ${e.message}`)))
            assert.isAtLeast(result.rows.length, 0)
          }
          const timelineQuery = queries.find((q) => q.includes("from action_snapshot"))!
          assert.strictEqual((yield* db.queryReadOnly(timelineQuery)).rows.length, 6)
        })
      )

      it.effect(
        "history and diff include action-level changes: a deploy that failed then succeeded, another approver",
        () =>
          Effect.gen(function* () {
            const store = yield* SnapshotStore.SnapshotStore
            const source = freshSource()
            const name = pipelineName("payments-api")
            const [x, y] = [executionId(), executionId()]
            const at = (minute: number) => new Date(Date.UTC(2026, 5, 1, 10, minute))
            const approve = (e: string, who: string) =>
              action(e, `${e}-approve`, {
                stageName: "Approve",
                actionName: "Approve",
                status: "Succeeded",
                updatedBy: who,
                input: { actionTypeId: { category: "Approval", owner: "AWS", provider: "Manual", version: "1" } }
              })
            const deploy = (e: string, status: string, patch: object = {}) =>
              action(e, `${e}-deploy`, { status, ...patch })
            yield* store.recordMany([
              { source, document: doc(x), observedAt: at(0) },
              { source, document: doc(x, { status: "Failed" }), observedAt: at(30) },
              { source, document: doc(y, { status: "Succeeded" }), observedAt: at(30) }
            ])
            const observe = (item: ActionExecution.ActionExecution, minute: number) => ({
              source,
              pipelineName: name,
              action: item,
              observedAt: at(minute)
            })
            yield* store.recordActions([
              observe(approve(x, "arn:aws:iam::123456789012:user/alice"), 5),
              observe(deploy(x, "InProgress"), 10),
              observe(
                deploy(x, "Failed", {
                  output: { executionResult: { errorDetails: { code: "JobFailed", message: "health checks failed" } } }
                }),
                31
              ),
              observe(approve(y, "arn:aws:iam::123456789012:user/bob"), 31),
              observe(deploy(y, "Succeeded"), 31)
            ])
            const history = yield* store.history({ pipelineExecutionId: x })
            assert.deepStrictEqual(
              history.map((e) => e.actions.map((a) => [a.snapshot.action.actionName, a.snapshot.action.status])),
              [
                [
                  ["Approve", "Succeeded"],
                  ["Deploy", "InProgress"]
                ],
                [["Deploy", "Failed"]]
              ]
            )
            const failed = history[1]!.actions[0]!.changes
            assert.deepInclude(failed, {
              path: "actions[Deploy/Deploy].status",
              field: "actions",
              key: `${x}-deploy`,
              kind: "changed",
              before: "InProgress",
              after: "Failed"
            })
            assert.isTrue(
              failed.some((c) => c.path === "actions[Deploy/Deploy].output.executionResult.errorDetails.code")
            )
            const changes = yield* store.diffExecutions({ pipelineExecutionId: x }, { pipelineExecutionId: y })
            const byPath = new Map(changes.map((c) => [c.path, c]))
            assert.deepInclude(byPath.get("actions[Deploy/Deploy].status"), { before: "Failed", after: "Succeeded" })
            assert.deepInclude(byPath.get("actions[Approve/Approve].updatedBy"), {
              before: "arn:aws:iam::123456789012:user/alice",
              after: "arn:aws:iam::123456789012:user/bob"
            })
            assert.deepInclude(byPath.get("actions[Deploy/Deploy].errorCode"), { kind: "removed", before: "JobFailed" })
            assert.deepInclude(byPath.get("status"), { before: "Failed", after: "Succeeded" })
          })
      )

      it.effect("an execution's actions are pending until marked fetched for its current state", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const source = freshSource()
          const name = pipelineName("payments-api")
          const e = executionId()
          const first = doc(e)
          yield* store.record({ source, document: first, observedAt: new Date(Date.UTC(2026, 5, 1, 10)) })
          const key = { pipelineName: name, pipelineExecutionId: e }
          assert.isTrue((yield* store.actionsPending(source, [key])).has(`payments-api/${e}`))
          yield* store.markActionsSynced(source, { ...key, contentHash: ExecutionDocument.contentHash(first) })
          assert.strictEqual((yield* store.actionsPending(source, [key])).size, 0)
          assert.isTrue((yield* store.heads(source, [name]))[0]!.actionsSynced)
          // A new state of the execution makes its actions pending again.
          yield* store.record({
            source,
            document: doc(e, { status: "Succeeded" }),
            observedAt: new Date(Date.UTC(2026, 5, 1, 11))
          })
          assert.isTrue((yield* store.actionsPending(source, [key])).has(`payments-api/${e}`))
          assert.isFalse((yield* store.heads(source, [name]))[0]!.actionsSynced)
        })
      )

      it.effect("stored contents and observations are immutable", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const db = yield* Database.Database
          const source = freshSource()
          const e = executionId()
          yield* store.recordActions([
            { source, pipelineName: pipelineName("payments-api"), action: action(e, "x"), observedAt: new Date() }
          ])
          for (const statement of [
            sql`update action_state set status = 'Succeeded' where source = ${source}`,
            sql`delete from action_state where source = ${source}`,
            sql`update action_observation set observed_at = now()`,
            sql`delete from action_observation`,
            sql`truncate action_state cascade`
          ]) {
            const error = yield* Effect.tryPromise({
              try: () => statement.execute(db.kysely),
              catch: (cause) => cause as Error
            }).pipe(Effect.flip)
            assert.include(error.message, "immutable")
          }
        })
      )

      it.effect("an observation outside 1970–9999 or with an empty source is refused before any write", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const e = executionId()
          const error = yield* store
            .recordActions([
              { source: "", pipelineName: pipelineName("p"), action: action(e, "x"), observedAt: new Date() }
            ])
            .pipe(Effect.flip)
          assert.strictEqual(error._tag, "InvalidObservationError")
          const late = yield* store
            .recordActions([
              { source: "s", pipelineName: pipelineName("p"), action: action(e, "x"), observedAt: new Date(Number.NaN) }
            ])
            .pipe(Effect.flip)
          assert.strictEqual(late._tag, "InvalidObservationError")
          assert.include(late.message, "action execution x")
        })
      )

      it.effect("a NUL in a text field is kept exactly in the document and readable back", () =>
        Effect.gen(function* () {
          const store = yield* SnapshotStore.SnapshotStore
          const source = freshSource()
          const e = executionId()
          const weird = action(e, "nul", {
            output: { executionResult: { externalExecutionSummary: "ok\u0000then" } }
          })
          yield* store.record({ source, document: doc(e), observedAt: new Date(Date.UTC(2026, 5, 1)) })
          yield* store.recordActions([
            { source, pipelineName: pipelineName("payments-api"), action: weird, observedAt: new Date() }
          ])
          const [read] = yield* store.actions({ pipelineExecutionId: e })
          assert.strictEqual(read!.action.output?.executionResult?.externalExecutionSummary, "ok\u0000then")
          assert.strictEqual(read!.contentHash, ActionExecution.contentHash(weird))
        })
      )
    })
  })
}
