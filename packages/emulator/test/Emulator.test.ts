import { assert, describe, it } from "@effect/vitest"
import { Emulator, Scenario } from "@pipetrail/emulator"
import { Effect } from "effect"

const call = (emulator: Emulator.Emulator, operation: string, body: unknown, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const response = await fetch(emulator.url, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": `CodePipeline_20150709.${operation}`,
        authorization:
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260601/us-east-1/codepipeline/aws4_request, SignedHeaders=host, Signature=abc",
        ...headers
      },
      body: typeof body === "string" ? body : JSON.stringify(body)
    })
    return {
      status: response.status,
      requestId: response.headers.get("x-amzn-requestid"),
      contentType: response.headers.get("content-type"),
      body: (await response.json()) as Record<string, any>
    }
  })

describe("Scenario", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = Scenario.generate({ seed: 42 })
    const b = Scenario.generate({ seed: 42 })
    const c = Scenario.generate({ seed: 43 })
    assert.deepStrictEqual(a, b)
    assert.notDeepEqual(
      a.executions.map((e) => e.pipelineExecutionId),
      c.executions.map((e) => e.pipelineExecutionId)
    )
  })

  it("looks real: UUID ids, 40-hex commits, repository URLs, every trigger type and mode, rollbacks", () => {
    const world = Scenario.generate({ seed: 1, pipelines: 10, executionsPerPipeline: 60 })
    const ids = world.executions.map((e) => e.pipelineExecutionId)
    assert.strictEqual(new Set(ids).size, ids.length)
    for (const e of world.executions) {
      assert.match(e.pipelineExecutionId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      const source = e.artifactRevisions[0]!
      assert.match(source.revisionId, /^[0-9a-f]{40}$/)
      assert.strictEqual(
        source.revisionUrl,
        `https://github.com/acme/${e.pipelineName.replace(/-(pipeline|prod|staging)$/, "")}/commit/${source.revisionId}`
      )
      assert.isBelow(source.created, e.startTime)
      if (e.executionType === "ROLLBACK") assert.isDefined(e.rollbackTargetPipelineExecutionId)
    }
    const triggers = new Set(world.executions.map((e) => e.trigger.triggerType))
    for (const t of [
      "CreatePipeline",
      "StartPipelineExecution",
      "PollForSourceChanges",
      "Webhook",
      "CloudWatchEvent",
      "PutActionRevision",
      "WebhookV2",
      "ManualRollback",
      "AutomatedRollback"
    ]) {
      assert.isTrue(triggers.has(t), t)
    }
    assert.deepStrictEqual(
      new Set(world.pipelines.map((p) => p.executionMode)),
      new Set(["QUEUED", "SUPERSEDED", "PARALLEL"])
    )
    const finals = new Set(world.executions.map((e) => e.steps[e.steps.length - 1]!.status))
    for (const s of ["Succeeded", "Failed", "Stopped", "Superseded", "Cancelled"]) assert.isTrue(finals.has(s), s)
  })
})

describe("Emulator wire protocol", () => {
  it.scopedLive("serves awsJson1_1 with epoch-second timestamps and a request id", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.scoped({ scenario: { seed: 1 } })
      const e = emulator.executions()[0]!
      const r = yield* call(emulator, "GetPipelineExecution", {
        pipelineName: e.pipelineName,
        pipelineExecutionId: e.pipelineExecutionId
      })
      assert.strictEqual(r.status, 200)
      assert.strictEqual(r.contentType, "application/x-amz-json-1.1")
      assert.isString(r.requestId)
      assert.strictEqual(r.body.pipelineExecution.pipelineExecutionId, e.pipelineExecutionId)
      assert.strictEqual(r.body.pipelineExecution.artifactRevisions[0].created, e.artifactRevisions[0]!.created / 1000)
      const list = yield* call(emulator, "ListPipelineExecutions", { pipelineName: e.pipelineName, maxResults: 2 })
      assert.strictEqual(list.body.pipelineExecutionSummaries.length, 2)
      assert.isNumber(list.body.pipelineExecutionSummaries[0].startTime)
      assert.isString(list.body.nextToken)
    })
  )

  it.scopedLive("answers AWS-shaped errors with the right status codes", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.scoped({ scenario: { seed: 1 } })
      const name = emulator.pipelines()[0]!.name
      const cases = [
        [
          call(emulator, "GetPipelineExecution", {
            pipelineName: "nope",
            pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4"
          }),
          400,
          "PipelineNotFoundException"
        ],
        [
          call(emulator, "GetPipelineExecution", {
            pipelineName: name,
            pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4"
          }),
          400,
          "PipelineExecutionNotFoundException"
        ],
        [
          call(emulator, "GetPipelineExecution", {
            pipelineName: "bad name",
            pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4"
          }),
          400,
          "ValidationException"
        ],
        [call(emulator, "GetPipelineExecution", { pipelineName: name }), 400, "ValidationException"],
        [
          call(emulator, "GetPipelineExecution", { pipelineName: name, pipelineExecutionId: "ABC" }),
          400,
          "ValidationException"
        ],
        [call(emulator, "ListPipelineExecutions", { pipelineName: name, maxResults: 0 }), 400, "ValidationException"],
        [call(emulator, "ListPipelineExecutions", { pipelineName: name, maxResults: 101 }), 400, "ValidationException"],
        [
          call(emulator, "ListPipelineExecutions", { pipelineName: name, nextToken: "zzz" }),
          400,
          "InvalidNextTokenException"
        ],
        [call(emulator, "ListPipelines", { maxResults: 1001 }), 400, "ValidationException"],
        [call(emulator, "DeletePipeline", { name }), 400, "UnknownOperationException"],
        [call(emulator, "ListPipelines", "{not json"), 400, "SerializationException"]
      ] as const
      for (const [request, status, type] of cases) {
        const r = yield* request
        assert.strictEqual(r.status, status, type)
        assert.strictEqual(r.body.__type, type)
        assert.isString(r.body.message)
        assert.isString(r.requestId)
      }
      const v = yield* cases[2][0]
      assert.include(v.body.message, "Member must satisfy regular expression pattern")
    })
  )

  it.scopedLive("pages with tokens that stay valid while new executions start", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.scoped({ scenario: { seed: 2, pipelines: 1, executionsPerPipeline: 10 } })
      const name = emulator.pipelines()[0]!.name
      const first = yield* call(emulator, "ListPipelineExecutions", { pipelineName: name, maxResults: 4 })
      emulator.startExecution(name)
      const ids: Array<string> = first.body.pipelineExecutionSummaries.map((s: any) => s.pipelineExecutionId)
      let token: string | undefined = first.body.nextToken
      while (token !== undefined) {
        const page = yield* call(emulator, "ListPipelineExecutions", {
          pipelineName: name,
          maxResults: 4,
          nextToken: token
        })
        ids.push(...page.body.pipelineExecutionSummaries.map((s: any) => s.pipelineExecutionId))
        token = page.body.nextToken
      }
      assert.strictEqual(ids.length, 10)
      assert.strictEqual(new Set(ids).size, 10)
    })
  )

  it.scopedLive("advances executions through their statuses with the clock", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.scoped({
        scenario: { seed: 3, pipelines: 1, executionsPerPipeline: 4, running: 2 }
      })
      const running = emulator
        .executions()
        .filter((e) => e.startTime + e.steps[e.steps.length - 1]!.at > emulator.now())
      assert.strictEqual(running.length, 2)
      const get = (id: string) =>
        call(emulator, "GetPipelineExecution", { pipelineName: running[0]!.pipelineName, pipelineExecutionId: id })
      const before = yield* get(running[0]!.pipelineExecutionId)
      assert.strictEqual(before.body.pipelineExecution.status, "InProgress")
      assert.deepStrictEqual(before.body.pipelineExecution.variables, [])
      emulator.advance(2 * 60 * 60 * 1000)
      const after = yield* get(running[0]!.pipelineExecutionId)
      assert.strictEqual(after.body.pipelineExecution.status, running[0]!.steps[running[0]!.steps.length - 1]!.status)
      assert.strictEqual(after.body.pipelineExecution.variables.length, 3)
      const started = emulator.startExecution(running[0]!.pipelineName)
      const fresh = yield* get(started.pipelineExecutionId)
      assert.strictEqual(fresh.body.pipelineExecution.status, "InProgress")
    })
  )

  it.scopedLive("throttles with a token bucket and counts what it did", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.scoped({ faults: { throttle: { rate: 1, burst: 3 } } })
      const results = yield* Effect.forEach(Array.from({ length: 8 }), () => call(emulator, "ListPipelines", {}))
      const throttled = results.filter((r) => r.body.__type === "ThrottlingException")
      assert.strictEqual(throttled.length, 5)
      assert.strictEqual(throttled[0]!.status, 400)
      assert.strictEqual(emulator.stats().throttled, 5)
      assert.strictEqual(emulator.stats().requests.ListPipelines, 8)
    })
  )

  it.scopedLive("injects seeded 5xx and malformed payloads reproducibly", () =>
    Effect.gen(function* () {
      const run = (seed: number) =>
        Effect.gen(function* () {
          const emulator = yield* Emulator.scoped({
            scenario: { seed },
            faults: { serverErrorRate: 0.3, malformedRate: 0.5 }
          })
          const e = emulator.executions()[0]!
          const results = yield* Effect.forEach(Array.from({ length: 20 }), () =>
            call(emulator, "GetPipelineExecution", {
              pipelineName: e.pipelineName,
              pipelineExecutionId: e.pipelineExecutionId
            })
          )
          return results.map((r) =>
            r.status >= 500 ? `5xx:${r.status}` : JSON.stringify(r.body.pipelineExecution).length
          )
        })
      const a = yield* Effect.scoped(run(5))
      const b = yield* Effect.scoped(run(5))
      assert.deepStrictEqual(a, b)
      assert.isTrue(a.some((x) => typeof x === "string"))
    })
  )

  it.scopedLive("binds loopback by default", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.scoped()
      assert.match(emulator.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    })
  )
})

describe("Emulator options", () => {
  it("names the rule an impossible option breaks, and accepts the possible ones", () => {
    const cases: ReadonlyArray<[Emulator.EmulatorOptions, RegExp | undefined]> = [
      [{ port: 1.5 }, /port must be an integer from 0 to 65535/],
      [{ port: 65_536 }, /port must be an integer from 0 to 65535/],
      [{ clock: -1 }, /speed must be more than 0/],
      [{ scenario: { pipelines: -1 } }, /pipelines must be an integer from 0 to 10000/],
      [{ scenario: { executionsPerPipeline: 2.5 } }, /executions per pipeline must be an integer/],
      [{ faults: { latency: -5 } }, /latency must be 0 ms or more/],
      [{ faults: { malformedRate: -0.1 } }, /malformedRate must be between 0 and 1/],
      [{ faults: { throttle: { rate: 0.5 } } }, /bucket must hold at least 1 token/],
      [
        {
          port: 0,
          clock: "manual",
          scenario: { pipelines: 3 },
          faults: { latency: { min: 0, max: 5 }, serverErrorRate: 1 }
        },
        undefined
      ]
    ]
    for (const [options, rule] of cases) {
      const problem = Emulator.optionsProblem(options)
      if (rule === undefined) assert.isUndefined(problem, JSON.stringify(options))
      else assert.match(problem ?? "", rule, JSON.stringify(options))
    }
  })
})
