import { assert, describe, it } from "@effect/vitest"
import { ActionExecution, CodePipeline, CodePipelineError, CodePipelineTest, Identifiers } from "@pipetrail/core"
import { Database, DatabaseError, SnapshotJob, SnapshotStore } from "@pipetrail/store"
import { Chunk, Context, Duration, Effect, FastCheck as fc, Layer, Schedule, Schema, Stream, Tracer } from "effect"
import { sql } from "kysely"
import { backends, doc, executionId, freshSource, storeLayer } from "./utils.js"

const summary = (outcome: SnapshotStore.RunOutcome): SnapshotJob.JobSummary => ({
  runId: 1,
  source: "test",
  pipelines: 1,
  outcome,
  failures: [],
  fetched: 0,
  newSnapshots: 0,
  unchanged: 0,
  rejected: 0,
  failed: 0,
  actionsFetched: 0,
  newActionStates: 0
})

const tick = fc.constantFrom<SnapshotJob.Tick>(
  SnapshotJob.Tick.Completed({ summary: summary("succeeded") }),
  SnapshotJob.Tick.Completed({ summary: summary("partial") }),
  SnapshotJob.Tick.Completed({ summary: summary("failed") })
)

/** The waits `every(interval)` gives after each of `ticks`, in milliseconds. */
const waits = (interval: number, ticks: ReadonlyArray<SnapshotJob.Tick>) =>
  Schedule.run(Schedule.delays(SnapshotJob.every(Duration.millis(interval))), 0, ticks).pipe(
    Effect.map((delays) => Chunk.toReadonlyArray(delays).map(Duration.toMillis))
  )

const hour = 3_600_000

describe("SnapshotJob.every", () => {
  it.effect(
    "waits the interval after a tick that succeeded, twice as long after each bad one in a row, up to an hour",
    () =>
      Effect.gen(function* () {
        const ok = SnapshotJob.Tick.Completed({ summary: summary("succeeded") })
        const bad = SnapshotJob.Tick.Completed({ summary: summary("partial") })
        const minutes = (ms: ReadonlyArray<number>) => ms.map((m) => m / 60_000)
        assert.deepStrictEqual(minutes(yield* waits(300_000, [ok, bad, bad, bad, ok, bad])), [5, 10, 20, 40, 5, 10])
        assert.deepStrictEqual(minutes(yield* waits(300_000, Array(6).fill(bad))), [10, 20, 40, 60, 60, 60])
        // An interval longer than an hour is the cap itself.
        assert.deepStrictEqual(minutes(yield* waits(2 * hour, [bad, bad, ok])), [120, 120, 120])
      })
  )

  it.effect(
    "for any interval and any run of outcomes: a good tick waits the interval, a bad streak grows to the cap and no further",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 3 * hour }),
            fc.array(tick, { maxLength: 30 }),
            (interval, ticks) =>
              Effect.runPromise(
                Effect.map(waits(interval, ticks), (delays) => {
                  const cap = Math.max(interval, hour)
                  assert.strictEqual(delays.length, ticks.length)
                  delays.forEach((delay, i) => {
                    if (SnapshotJob.succeeded(ticks[i]!)) assert.strictEqual(delay, interval)
                    else {
                      assert.isAtMost(delay, cap)
                      const previous = i === 0 || SnapshotJob.succeeded(ticks[i - 1]!) ? interval : delays[i - 1]!
                      assert.strictEqual(delay, Math.min(previous * 2, cap))
                    }
                  })
                })
              )
          ),
          { numRuns: 200 }
        )
      )
  )
})

for (const backend of backends) {
  describe(`SnapshotJob on ${backend.name}`, () => {
    it.live(
      "a watch snapshots everything once, then only what can still change, tick after tick",
      () =>
        Effect.gen(function* () {
          const source = freshSource()
          const [done1, done2, running] = [executionId(), executionId(), executionId()]
          const executions = [
            doc(done1, { status: "Succeeded", startTime: "2026-06-01T08:00:00.000Z" }),
            doc(done2, { status: "Failed", startTime: "2026-06-01T09:00:00.000Z" }),
            doc(running, { status: "InProgress", startTime: "2026-06-01T10:00:00.000Z" })
          ]
          const codepipeline = CodePipelineTest.layer({
            pipelines: [{ name: executions[0]!.pipelineName }],
            executions: executions.map((execution) => ({ execution }))
          })
          const ticks = yield* SnapshotJob.watch(
            { source, pipelines: [executions[0]!.pipelineName], concurrency: 2, batchSize: 10 },
            SnapshotJob.every("10 millis")
          ).pipe(
            Stream.take(3),
            Stream.runCollect,
            Effect.provide(Layer.merge(codepipeline, storeLayer(backend.database)))
          )
          const summaries = Chunk.toReadonlyArray(ticks).map((t) => {
            assert.strictEqual(t._tag, "Completed")
            return (t as Extract<SnapshotJob.Tick, { _tag: "Completed" }>).summary
          })
          assert.deepStrictEqual(
            summaries.map((s) => [s.outcome, s.fetched, s.newSnapshots, s.unchanged]),
            [
              ["succeeded", 3, 3, 0],
              ["succeeded", 1, 0, 1],
              ["succeeded", 1, 0, 1]
            ]
          )
          // Each tick is a run of its own.
          assert.strictEqual(new Set(summaries.map((s) => s.runId)).size, 3)
        }),
      { timeout: 60_000 }
    )

    it.live(
      "a run is one trace: the run's span holds the store's, named, with batch sizes and outcomes",
      () =>
        Effect.gen(function* () {
          const source = freshSource()
          const executions = [executionId(), executionId()].map((id) => doc(id, { status: "Succeeded" }))
          const spans: Array<Tracer.Span> = []
          const summary = yield* Effect.tracerWith((tracer) =>
            SnapshotJob.run({
              source,
              pipelines: [executions[0]!.pipelineName],
              concurrency: 2,
              batchSize: 10,
              incremental: false
            }).pipe(
              Effect.withTracer(
                Tracer.make({
                  span: (...args) => {
                    const span = tracer.span(...args)
                    spans.push(span)
                    return span
                  },
                  context: tracer.context
                })
              )
            )
          ).pipe(
            Effect.provide(
              Layer.merge(
                CodePipelineTest.layer({
                  pipelines: [{ name: executions[0]!.pipelineName }],
                  executions: executions.map((execution) => ({ execution }))
                }),
                storeLayer(backend.database)
              )
            )
          )
          const named = (name: string) => spans.filter((s) => s.name === name)
          const [run] = named("SnapshotJob.run")
          assert.isDefined(run)
          assert.strictEqual(run!.attributes.get("runId"), summary.runId)
          assert.strictEqual(run!.attributes.get("outcome"), "succeeded")
          const batches = named("SnapshotStore.recordMany")
          assert.deepStrictEqual(
            batches.map((b) => [b.attributes.get("batchSize"), b.attributes.get("new"), b.attributes.get("unchanged")]),
            [[2, 2, 0]]
          )
          // Every store span and the transaction under it descend from the run's span.
          const ancestors = (span: Tracer.AnySpan): Array<string> =>
            span._tag === "Span" && span.parent._tag === "Some"
              ? [span.parent.value.spanId, ...ancestors(span.parent.value)]
              : []
          for (const span of [...named("SnapshotStore.startRun"), ...batches, ...named("Database.transaction")]) {
            assert.include(ancestors(span), run!.spanId, span.name)
          }
        }),
      { timeout: 60_000 }
    )
  })
}

const statuses = ["InProgress", "Succeeded", "Failed", "Stopped"] as const

/** A world to serve: pipelines, executions with a status, each with some action executions. */
const world = fc.array(
  fc.array(fc.record({ status: fc.constantFrom(...statuses), actions: fc.nat(3) }), { maxLength: 5 }),
  { minLength: 1, maxLength: 3 }
)

const decodeAction = Schema.decodeUnknownSync(ActionExecution.ActionExecution)

/** Counts the calls a job makes, by operation, and can fail the action listing of chosen executions. */
const counting = (failActionsOf: Set<string> = new Set(), goneFor: Set<string> = new Set()) => {
  const calls = { list: 0, get: 0, actions: 0 }
  const layer = Layer.effect(
    CodePipeline.CodePipeline,
    Effect.map(CodePipeline.CodePipeline, (service) => ({
      ...service,
      listPipelineExecutions: (name, options) =>
        Stream.suspend(() => {
          calls.list++
          return service.listPipelineExecutions(name, options)
        }),
      observePipelineExecution: (name, id) =>
        Effect.suspend(() => {
          calls.get++
          return service.observePipelineExecution(name, id)
        }),
      observeActionExecutions: (name, options) =>
        Stream.suspend(() => {
          calls.actions++
          const id = options?.pipelineExecutionId
          if (id !== undefined && goneFor.has(id)) {
            return Stream.fail(
              new CodePipelineError.PipelineExecutionNotFoundError({
                pipelineName: name,
                pipelineExecutionId: id,
                message: "no such execution"
              })
            )
          }
          return id !== undefined && failActionsOf.has(id)
            ? Stream.fail(
                new CodePipelineError.AccessDeniedError({
                  operation: "ListActionExecutions",
                  reason: "AccessDenied",
                  code: "AccessDeniedException",
                  message: "not authorized to perform codepipeline:ListActionExecutions"
                })
              )
            : service.observeActionExecutions(name, options)
        })
    }))
  )
  return { calls, layer }
}

for (const backend of backends) {
  describe(`SnapshotJob with action executions on ${backend.name}`, () => {
    it.live(
      "actions are fetched for executions that changed or have not ended, never for settled ones: an idle tick costs one list call per pipeline (property)",
      () =>
        Effect.gen(function* () {
          const store = storeLayer(backend.database)
          const context = yield* Layer.build(store)
          const check = (pipelines: ReadonlyArray<ReadonlyArray<{ status: string; actions: number }>>) =>
            Effect.gen(function* () {
              const source = freshSource()
              const names = pipelines.map((_, p) => Identifiers.PipelineName.make(`p${p}-${source.slice(-8)}`))
              const served = pipelines.flatMap((executions, p) =>
                executions.map((e, i) => ({
                  pipelineName: names[p]!,
                  execution: doc(executionId(), {
                    pipelineName: names[p]!,
                    status: e.status,
                    startTime: new Date(Date.UTC(2026, 5, 1, 10, i)).toISOString()
                  }),
                  actions: e.actions
                }))
              )
              const actions = served.flatMap(({ pipelineName, execution, actions }) =>
                Array.from({ length: actions }, (_, a) => ({
                  pipelineName,
                  action: decodeAction({
                    pipelineExecutionId: execution.pipelineExecutionId,
                    actionExecutionId: `${execution.pipelineExecutionId}-${a}`,
                    stageName: `Stage${a}`,
                    actionName: "Act",
                    status: execution.status === "InProgress" && a === actions - 1 ? "InProgress" : "Succeeded",
                    startTime: Date.UTC(2026, 5, 1, 10, a) / 1000
                  })
                }))
              )
              const service = CodePipelineTest.layer({
                pipelines: names.map((name) => ({ name })),
                executions: served.map(({ execution }) => ({ execution })),
                actions
              })
              const { calls, layer } = counting()
              const job = (incremental: boolean) =>
                SnapshotJob.run({ source, pipelines: names, concurrency: 3, batchSize: 4, incremental }).pipe(
                  Effect.provide(Layer.provide(layer, service)),
                  Effect.provide(context)
                )
              const first = yield* job(true)
              assert.strictEqual(calls.actions, served.length, "the first tick fetches every execution's actions")
              assert.strictEqual(first.actionsFetched, actions.length)
              assert.strictEqual(first.newActionStates, actions.length)
              const running = served.filter(({ execution }) => execution.status === "InProgress").length
              for (const incremental of [true, false]) {
                calls.list = calls.get = calls.actions = 0
                const again = yield* job(incremental)
                assert.strictEqual(calls.list, names.length)
                if (incremental) assert.strictEqual(calls.get, running, "an idle tick fetches only running executions")
                assert.strictEqual(calls.actions, running, "actions of settled executions are never fetched again")
                assert.strictEqual(again.newActionStates, 0)
              }
              const db = Context.get(context, Database.Database)
              const stored = yield* Effect.promise(() =>
                sql<{ n: number }>`select count(*)::int as n from action_latest where source = ${source}`.execute(
                  db.kysely
                )
              )
              assert.strictEqual(stored.rows[0]!.n, actions.length)
            })
          yield* Effect.promise(() =>
            fc.assert(
              fc.asyncProperty(world, (w) => Effect.runPromise(check(w))),
              { numRuns: 12 }
            )
          )
        }).pipe(Effect.scoped),
      { timeout: 300_000 }
    )

    it.live(
      "without actions no action call is made; an execution whose actions failed is fetched again next time, then settles",
      () =>
        Effect.gen(function* () {
          const context = yield* Layer.build(storeLayer(backend.database))
          const source = freshSource()
          const [a, b] = [executionId(), executionId()]
          const executions = [doc(a, { status: "Succeeded" }), doc(b, { status: "Failed" })]
          const name = executions[0]!.pipelineName
          const service = CodePipelineTest.layer({
            pipelines: [{ name }],
            executions: executions.map((execution) => ({ execution })),
            actions: [
              {
                pipelineName: name,
                action: decodeAction({
                  pipelineExecutionId: b,
                  actionExecutionId: "deploy-1",
                  stageName: "Deploy",
                  actionName: "Deploy",
                  status: "Failed"
                })
              }
            ]
          })
          const failing = new Set<string>([b])
          const { calls, layer } = counting(failing)
          const job = (actions: boolean) =>
            SnapshotJob.run({
              source,
              pipelines: [name],
              concurrency: 2,
              batchSize: 10,
              incremental: true,
              actions
            }).pipe(Effect.provide(Layer.provide(layer, service)), Effect.provide(context))
          const without = yield* job(false)
          assert.strictEqual(calls.actions, 0)
          assert.strictEqual(without.actionsFetched, 0)
          // The first run with actions: b's listing fails (listed in the summary), a's is stored.
          calls.actions = 0
          const first = yield* job(true)
          assert.strictEqual(calls.actions, 2)
          assert.strictEqual(first.outcome, "partial")
          assert.deepStrictEqual(
            first.failures.map((f) => [f.pipelineExecutionId, f.error]),
            [[b, "AccessDeniedError"]]
          )
          assert.include(first.failures[0]!.message, "grant codepipeline:ListActionExecutions, or pass --no-actions")
          // Next run: only b's actions are fetched again (no get: the execution did not change), then it settles.
          failing.clear()
          calls.actions = calls.get = 0
          const second = yield* job(true)
          assert.deepStrictEqual(
            [calls.get, calls.actions, second.actionsFetched, second.newActionStates],
            [0, 1, 1, 1]
          )
          calls.actions = calls.get = 0
          yield* job(true)
          assert.deepStrictEqual([calls.get, calls.actions], [0, 0])
          const store = Context.get(context, SnapshotStore.SnapshotStore)
          const stored = yield* store.actions({ pipelineExecutionId: b })
          assert.deepStrictEqual(
            stored.map((s) => [s.action.actionExecutionId, s.action.status]),
            [["deploy-1", "Failed"]]
          )
        }).pipe(Effect.scoped),
      { timeout: 120_000 }
    )

    it.live(
      "a watch fetches the actions of stored executions that ended without them, however old; one AWS forgot settles",
      () =>
        Effect.gen(function* () {
          const context = yield* Layer.build(storeLayer(backend.database))
          const source = freshSource()
          const ids = [executionId(), executionId(), executionId()]
          const executions = ids.map((id, i) =>
            doc(id, { status: "Succeeded", startTime: new Date(Date.UTC(2026, 5, 1, 10, i)).toISOString() })
          )
          const name = executions[0]!.pipelineName
          const service = CodePipelineTest.layer({
            pipelines: [{ name }],
            executions: executions.map((execution) => ({ execution })),
            actions: ids.map((id) => ({
              pipelineName: name,
              action: decodeAction({
                pipelineExecutionId: id,
                actionExecutionId: `${id}-build`,
                stageName: "Build",
                actionName: "Build",
                status: "Succeeded"
              })
            }))
          })
          const gone = new Set<string>([ids[0]!])
          const { calls, layer } = counting(new Set(), gone)
          const job = (actions: boolean) =>
            SnapshotJob.run({
              source,
              pipelines: [name],
              concurrency: 2,
              batchSize: 10,
              incremental: true,
              actions
            }).pipe(Effect.provide(Layer.provide(layer, service)), Effect.provide(context))
          // A store from before actions: every execution stored, none with its actions.
          yield* job(false)
          calls.list = calls.get = calls.actions = 0
          const upgraded = yield* job(true)
          // The listing stops at the newest settled execution; every one's actions are fetched by its stored state.
          assert.deepStrictEqual([calls.list, calls.get, calls.actions], [1, 0, 3])
          assert.deepStrictEqual(
            [upgraded.outcome, upgraded.actionsFetched, upgraded.failures.length],
            ["succeeded", 2, 0]
          )
          calls.list = calls.get = calls.actions = 0
          yield* job(true)
          assert.deepStrictEqual(
            [calls.list, calls.get, calls.actions],
            [1, 0, 0],
            "then an idle tick costs one list call"
          )
        }).pipe(Effect.scoped),
      { timeout: 120_000 }
    )

    it.live(
      "a page with several malformed items keeps the page's bytes once, and each item's own payload",
      () =>
        Effect.gen(function* () {
          const context = yield* Layer.build(storeLayer(backend.database))
          const source = freshSource()
          const execution = doc(executionId(), { status: "Succeeded" })
          const name = execution.pipelineName
          const page = new TextEncoder().encode('{"actionExecutionDetails":[{"n":1},{"n":2},{"n":3}]}')
          const response = { status: 200, requestId: "req-1", body: page }
          const malformedPage = Layer.effect(
            CodePipeline.CodePipeline,
            Effect.map(CodePipeline.CodePipeline, (service) => ({
              ...service,
              observeActionExecutions: <E>(_: Identifiers.PipelineName, options?: CodePipeline.ListActionsOptions<E>) =>
                Stream.execute(
                  Effect.forEach([1, 2, 3], (n) =>
                    options!.onMalformed!(
                      new CodePipelineError.ResponseDecodeError({
                        operation: "ListActionExecutions",
                        payload: { n },
                        issue: "is missing actionExecutionId",
                        response
                      })
                    )
                  )
                )
            }))
          )
          const summary = yield* SnapshotJob.run({
            source,
            pipelines: [name],
            concurrency: 1,
            batchSize: 10,
            incremental: false
          }).pipe(
            Effect.provide(
              Layer.provide(
                malformedPage,
                CodePipelineTest.layer({ pipelines: [{ name }], executions: [{ execution }] })
              )
            ),
            Effect.provide(context)
          )
          assert.strictEqual(summary.rejected, 3)
          const db = Context.get(context, Database.Database)
          const kept = yield* Effect.promise(() =>
            sql<{ payload_is_raw: boolean; body: string }>`
              select payload_is_raw, convert_from(payload, 'UTF8') as body from rejected_response
              where source = ${source} order by id
            `.execute(db.kysely)
          )
          assert.deepStrictEqual(
            kept.rows.map((r) => [r.payload_is_raw, r.body]),
            [
              [true, new TextDecoder().decode(page)],
              [false, '{"n":2}'],
              [false, '{"n":3}']
            ]
          )
        }).pipe(Effect.scoped),
      { timeout: 60_000 }
    )

    it.live(
      "a run that the store fails for one pipeline while another runs is recorded as failed, with the error, not interrupted",
      () =>
        Effect.gen(function* () {
          const context = yield* Layer.build(storeLayer(backend.database))
          const source = freshSource()
          const good = doc(executionId(), { pipelineName: "p-good", status: "Succeeded" })
          const bad = doc(executionId(), { pipelineName: "p-bad", status: "Succeeded" })
          const failing = Layer.effect(
            SnapshotStore.SnapshotStore,
            Effect.map(SnapshotStore.SnapshotStore, (store) => ({
              ...store,
              recordMany: (inputs: ReadonlyArray<SnapshotStore.RecordInput>) =>
                inputs.some((i) => i.document.pipelineName === "p-bad")
                  ? Effect.fail(
                      new DatabaseError.DatabaseError({ operation: "record", message: "disk full", code: "53100" })
                    )
                  : store.recordMany(inputs)
            }))
          )
          const error = yield* SnapshotJob.run({
            source,
            pipelines: [good.pipelineName, bad.pipelineName],
            concurrency: 2,
            batchSize: 10,
            incremental: false
          }).pipe(
            Effect.provide(
              CodePipelineTest.layer({
                pipelines: [{ name: good.pipelineName }, { name: bad.pipelineName }],
                executions: [{ execution: good }, { execution: bad }]
              })
            ),
            Effect.provide(Layer.provide(failing, Layer.succeedContext(context))),
            Effect.flip
          )
          assert.strictEqual(error._tag, "DatabaseError")
          const store = Context.get(context, SnapshotStore.SnapshotStore)
          const [last] = (yield* store.runs(5)).filter((r) => r.source === source)
          assert.strictEqual(last!.outcome, "failed")
          assert.include(last!.error ?? "", "disk full")
        }).pipe(Effect.scoped),
      { timeout: 60_000 }
    )
  })
}
