import { ListActionExecutionsCommand, CodePipelineClient as SdkClient } from "@aws-sdk/client-codepipeline"
import { assert, describe, it } from "@effect/vitest"
import { ActionExecution, CodePipelineTest, Identifiers } from "@pipetrail/core"
import { Scenario } from "@pipetrail/emulator"
import { Chunk, Effect, Either, FastCheck as fc, Schema, Stream } from "effect"
import { credentials, executionId, pipelineName, withEmulator } from "./utils.js"

const HOUR = 3_600_000

/**
 * The emulator's actions are consistent with their execution at any time: only started actions are
 * listed; an execution that succeeded ran every stage to success; a failed one ends with exactly
 * one failed action, the last one; a stopped, superseded or cancelled one abandoned its last action;
 * a running one has at most one action in progress and none abandoned; every action lies within its
 * execution's life.
 */
const checkConsistent = (execution: Scenario.EmulatedExecution, now: number) => {
  const status = Scenario.stateAt(execution, now).step.status
  const plan = Scenario.actionPlan(execution)
  const started = plan.filter((a) => a.start <= now)
  const statusOf = (a: Scenario.PlannedAction) => (now >= a.end ? a.status : "InProgress")
  const end = execution.startTime + execution.steps[execution.steps.length - 1]!.at
  for (const a of plan) {
    assert.isAtLeast(a.start, execution.startTime)
    assert.isAtMost(a.end, end)
    assert.isAtMost(a.start, a.end)
  }
  const latest = [...started].reverse().filter((a, i, all) => all.findIndex((b) => b.stageName === a.stageName) === i)
  const last = started.at(-1)
  switch (status) {
    case "Succeeded":
      assert.deepStrictEqual(latest.map((a) => a.stageName).sort(), ["Approve", "Build", "Deploy", "Source"])
      assert.isTrue(latest.every((a) => statusOf(a) === "Succeeded"))
      break
    case "Failed":
      assert.strictEqual(statusOf(last!), "Failed")
      assert.strictEqual(latest.filter((a) => statusOf(a) === "Failed").length, 1)
      break
    case "InProgress":
    case "Stopping":
      assert.isAtMost(started.filter((a) => statusOf(a) === "InProgress").length, 1)
      assert.isTrue(started.every((a) => statusOf(a) !== "Abandoned"))
      break
    default:
      assert.strictEqual(statusOf(last!), "Abandoned")
      assert.isTrue(started.every((a) => statusOf(a) !== "InProgress"))
  }
}

describe("ActionExecution", () => {
  it("decodes every member of ActionExecutionDetail and keeps fields it does not know", () => {
    const wire = {
      pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4",
      actionExecutionId: "a1b2c3",
      pipelineVersion: 4,
      stageName: "Approve",
      actionName: "ProductionApproval",
      startTime: 1780000000,
      lastUpdateTime: 1780000600.5,
      updatedBy: "arn:aws:iam::123456789012:user/alice",
      status: "Succeeded",
      input: {
        actionTypeId: { category: "Approval", owner: "AWS", provider: "Manual", version: "1" },
        configuration: { CustomData: "ship?" },
        resolvedConfiguration: { CustomData: "ship?" },
        roleArn: "arn:aws:iam::123456789012:role/r",
        region: "us-east-1",
        inputArtifacts: [{ name: "SourceArtifact", s3location: { bucket: "b", key: "k" } }],
        namespace: "ApprovalVars"
      },
      output: {
        outputArtifacts: [],
        executionResult: {
          externalExecutionId: "x",
          externalExecutionSummary: "LGTM",
          externalExecutionUrl: "https://example.com/x",
          errorDetails: { code: "C", message: "M" },
          logStreamARN: "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s"
        },
        outputVariables: { Decision: "yes" }
      },
      addedIn2027: { some: "thing" }
    }
    const decoded = Schema.decodeUnknownSync(ActionExecution.ActionExecution, { onExcessProperty: "preserve" })(wire)
    assert.strictEqual(decoded.startTime?.toISOString(), "2026-05-28T20:26:40.000Z")
    assert.strictEqual(decoded.output?.executionResult?.externalExecutionSummary, "LGTM")
    assert.strictEqual(ActionExecution.categoryOf(decoded), "Approval")
    assert.isTrue(ActionExecution.isApproval(decoded))
    assert.deepStrictEqual((decoded as unknown as { addedIn2027: unknown }).addedIn2027, { some: "thing" })
    const encoded = ActionExecution.encode(decoded) as Record<string, unknown>
    assert.strictEqual(encoded.lastUpdateTime, "2026-05-28T20:36:40.500Z")
    // New enum values are kept, never refused.
    const future = Schema.decodeUnknownSync(ActionExecution.ActionExecution)({ ...wire, status: "Paused" })
    assert.strictEqual(future.status, "Paused")
    assert.isFalse(ActionExecution.isTerminal(future.status))
  })

  it("refuses an action without its identity or with names that break the model's rules", () => {
    const base = {
      pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4",
      actionExecutionId: "a",
      stageName: "Build",
      actionName: "Build",
      status: "InProgress"
    }
    const decode = Schema.decodeUnknownEither(ActionExecution.ActionExecution)
    assert.isTrue(Either.isRight(decode(base)))
    for (const broken of [
      { ...base, actionExecutionId: "" },
      { ...base, actionExecutionId: "x\u0000" },
      { ...base, actionExecutionId: "x".repeat(201) },
      { ...base, stageName: "no spaces" },
      { ...base, actionName: "x".repeat(101) },
      { ...base, pipelineExecutionId: "not-a-uuid" },
      { ...base, status: undefined },
      { ...base, input: { actionTypeId: { category: "Build", owner: "AWS", provider: "Code Build", version: "1" } } }
    ]) {
      assert.isTrue(Either.isLeft(decode(broken)), JSON.stringify(broken))
    }
  })

  it("the content hash is the same for equal contents whatever the key order (property)", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 6 }),
        fc.constantFrom("InProgress", "Succeeded", "Failed", "Abandoned"),
        (configuration, status) => {
          const action = {
            pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4",
            actionExecutionId: "a",
            stageName: "Build",
            actionName: "Build",
            status,
            input: { configuration }
          }
          const reversed = Object.fromEntries(Object.entries(configuration).reverse())
          const a = Schema.decodeUnknownSync(ActionExecution.ActionExecution)(action)
          const b = Schema.decodeUnknownSync(ActionExecution.ActionExecution)({
            input: { configuration: reversed },
            status,
            actionName: "Build",
            stageName: "Build",
            actionExecutionId: "a",
            pipelineExecutionId: "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4"
          })
          assert.strictEqual(ActionExecution.contentHash(a), ActionExecution.contentHash(b))
        }
      ),
      { numRuns: 50 }
    )
  })
})

describe("ActionExecution over generated values (property)", () => {
  // Invariant: what decodes encodes back to the same JSON, fields this version does not know
  // included, so a stored document and its content hash are those of what AWS sent.
  const json = fc.jsonValue({ maxDepth: 2 })
  const wire = fc.record(
    {
      pipelineExecutionId: fc.uuid({ version: 4 }),
      actionExecutionId: fc.string({ minLength: 1, maxLength: 20 }),
      pipelineVersion: fc.integer({ min: 1, max: 1000 }),
      stageName: fc.stringMatching(/^[A-Za-z0-9.@\-_]{1,20}$/),
      actionName: fc.stringMatching(/^[A-Za-z0-9.@\-_]{1,20}$/),
      startTime: fc.integer({ min: 0, max: 4_000_000_000 }),
      updatedBy: fc.string(),
      status: fc.oneof(fc.constantFrom(...ActionExecution.ActionExecutionStatus.literals), fc.string()),
      input: fc.record(
        {
          actionTypeId: fc.record({
            category: fc.oneof(fc.constantFrom(...ActionExecution.ActionCategory.literals), fc.string()),
            owner: fc.constantFrom(...ActionExecution.ActionOwner.literals),
            provider: fc.stringMatching(/^[0-9A-Za-z_-]{1,35}$/),
            version: fc.stringMatching(/^[0-9A-Za-z_-]{1,9}$/)
          }),
          configuration: fc.dictionary(fc.string({ minLength: 1 }), fc.string()),
          region: fc.string()
        },
        { requiredKeys: [] }
      ),
      output: fc.record(
        {
          executionResult: fc.record(
            {
              externalExecutionSummary: fc.string(),
              errorDetails: fc.record({ code: fc.string(), message: fc.string() }, { requiredKeys: [] })
            },
            { requiredKeys: [] }
          ),
          outputVariables: fc.dictionary(fc.string({ minLength: 1 }), fc.string())
        },
        { requiredKeys: [] }
      ),
      futureField: json
    },
    { requiredKeys: ["pipelineExecutionId", "actionExecutionId", "stageName", "actionName", "status"] }
  )

  it("decodes, encodes back to the same JSON (times as ISO), and hashes the same after a round trip", () => {
    const decode = Schema.decodeUnknownSync(ActionExecution.ActionExecution, { onExcessProperty: "preserve" })
    fc.assert(
      fc.property(wire, (input) => {
        const decoded = decode(input)
        const encoded = ActionExecution.encode(decoded) as Record<string, unknown>
        const expected = {
          ...input,
          ...(input.startTime === undefined ? {} : { startTime: new Date(input.startTime * 1000).toISOString() })
        }
        assert.deepStrictEqual(JSON.parse(JSON.stringify(encoded)), JSON.parse(JSON.stringify(expected)))
        assert.strictEqual(ActionExecution.contentHash(decode(encoded)), ActionExecution.contentHash(decoded))
      }),
      { numRuns: 150 }
    )
  })
})

describe("the emulator's action executions", () => {
  it("are consistent with each execution's status at any time (property over scenarios and times)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (seed, when) => {
        const world = Scenario.generate({ seed, pipelines: 2, executionsPerPipeline: 15, running: 3 })
        for (const execution of world.executions) {
          const end = execution.startTime + execution.steps[execution.steps.length - 1]!.at
          checkConsistent(execution, execution.startTime + (end - execution.startTime) * when)
          checkConsistent(execution, end + HOUR)
        }
      }),
      { numRuns: 40 }
    )
  })

  it("include approvals (approved and rejected, with approver and comment), failed actions with errors, and retried builds", () => {
    const world = Scenario.generate({ seed: 3, pipelines: 4, executionsPerPipeline: 60, running: 0 })
    const plans = world.executions.map(Scenario.actionPlan)
    const all = plans.flat()
    const approvals = all.filter((a) => a.category === "Approval")
    assert.isTrue(approvals.some((a) => a.status === "Succeeded" && a.approval?.updatedBy.startsWith("arn:aws:")))
    assert.isTrue(approvals.some((a) => a.status === "Failed" && a.approval !== undefined))
    assert.isTrue(all.some((a) => a.status === "Failed" && a.error !== undefined && a.category === "Deploy"))
    assert.isTrue(plans.some((p) => p.filter((a) => a.stageName === "Build").length === 2))
  })
})

describe("listActionExecutions over the real SDK against the emulator", () => {
  it.scopedLive("pages at 100, newest first, and filters by execution", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator({
        scenario: { seed: 5, pipelines: 1, executionsPerPipeline: 40, running: 2 }
      })
      const name = pipelineName(emulator.pipelines()[0]!.name)
      const all = Chunk.toReadonlyArray(yield* Stream.runCollect(service.listActionExecutions(name)))
      const expected = emulator
        .executions()
        .flatMap((e) => Scenario.actionPlan(e).filter((a) => a.start <= emulator.now()))
      assert.isAbove(all.length, 100)
      assert.strictEqual(all.length, expected.length)
      assert.strictEqual(new Set(all.map((a) => a.actionExecutionId)).size, all.length)
      assert.strictEqual(emulator.stats().requests.ListActionExecutions, Math.ceil(all.length / 100))
      for (let i = 1; i < all.length; i++) {
        assert.isAtLeast(all[i - 1]!.startTime!.getTime(), all[i]!.startTime!.getTime())
      }
      const execution =
        emulator.executions().find((e) => Scenario.actionPlan(e).length === 5) ?? emulator.executions()[0]!
      const mine = Chunk.toReadonlyArray(
        yield* Stream.runCollect(
          service.listActionExecutions(name, {
            pipelineExecutionId: executionId(execution.pipelineExecutionId),
            pageSize: 2
          })
        )
      )
      assert.deepStrictEqual(
        mine.map((a) => a.actionExecutionId).sort(),
        Scenario.actionPlan(execution)
          .filter((a) => a.start <= emulator.now())
          .map((a) => a.actionExecutionId)
          .sort()
      )
      assert.isTrue(mine.every((a) => a.pipelineExecutionId === execution.pipelineExecutionId))
    })
  )

  it.scopedLive("an approval's decision, approver and comment, and a failure's error, arrive decoded", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator({
        scenario: { seed: 3, pipelines: 4, executionsPerPipeline: 60, running: 0 }
      })
      const rejected = emulator
        .executions()
        .find((e) => Scenario.actionPlan(e).some((a) => a.category === "Approval" && a.status === "Failed"))!
      const actions = Chunk.toReadonlyArray(
        yield* Stream.runCollect(
          service.listActionExecutions(pipelineName(rejected.pipelineName), {
            pipelineExecutionId: executionId(rejected.pipelineExecutionId)
          })
        )
      )
      const approval = actions.find(ActionExecution.isApproval)!
      const planned = Scenario.actionPlan(rejected).find((a) => a.category === "Approval")!
      assert.strictEqual(approval.status, "Failed")
      assert.strictEqual(approval.updatedBy, planned.approval!.updatedBy)
      assert.strictEqual(approval.output?.executionResult?.externalExecutionSummary, planned.approval!.comment)
      assert.strictEqual(approval.startTime?.getTime(), planned.start)
      assert.strictEqual(approval.lastUpdateTime?.getTime(), planned.end)
      const failedDeploy = emulator
        .executions()
        .flatMap((e) => Scenario.actionPlan(e).map((a) => ({ e, a })))
        .find(({ a }) => a.category === "Deploy" && a.status === "Failed")!
      const [deploy] = Chunk.toReadonlyArray(
        yield* Stream.runCollect(
          service.listActionExecutions(pipelineName(failedDeploy.e.pipelineName), {
            pipelineExecutionId: executionId(failedDeploy.e.pipelineExecutionId)
          })
        )
      ).filter((a) => a.stageName === "Deploy")
      assert.deepStrictEqual(deploy!.output?.executionResult?.errorDetails, failedDeploy.a.error)
    })
  )

  it.scopedLive(
    "an unknown execution is PipelineExecutionNotFoundError, an unknown pipeline PipelineNotFoundError",
    () =>
      Effect.gen(function* () {
        const { emulator, service } = yield* withEmulator({ scenario: { seed: 5, pipelines: 1 } })
        const name = pipelineName(emulator.pipelines()[0]!.name)
        const unknown = yield* Stream.runCollect(
          service.listActionExecutions(name, {
            pipelineExecutionId: executionId("00000000-0000-4000-8000-000000000000")
          })
        ).pipe(Effect.flip)
        assert.strictEqual(unknown._tag, "PipelineExecutionNotFoundError")
        const noPipeline = yield* Stream.runCollect(service.listActionExecutions(pipelineName("nope"))).pipe(
          Effect.flip
        )
        assert.strictEqual(noPipeline._tag, "PipelineNotFoundError")
        const badPage = yield* Stream.runCollect(service.listActionExecutions(name, { pageSize: 101 })).pipe(
          Effect.flip
        )
        assert.strictEqual(badPage._tag, "InvalidInputError")
        assert.strictEqual(emulator.stats().requests.ListActionExecutions, 2)
      })
  )

  it.scopedLive("an answer with another execution's action is a ResponseMismatchError that keeps the bytes", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator({
        scenario: { seed: 5, pipelines: 1, running: 0 },
        faults: { mismatchRate: 1 }
      })
      const execution = emulator.executions()[0]!
      const error = yield* Stream.runCollect(
        service.listActionExecutions(pipelineName(execution.pipelineName), {
          pipelineExecutionId: executionId(execution.pipelineExecutionId)
        })
      ).pipe(Effect.flip)
      assert.strictEqual(error._tag, "ResponseMismatchError")
      if (error._tag !== "ResponseMismatchError") return
      assert.strictEqual(error.pipelineExecutionId, execution.pipelineExecutionId)
      assert.notStrictEqual(error.receivedPipelineExecutionId, execution.pipelineExecutionId)
      assert.include(new TextDecoder().decode(error.response!.body), error.receivedPipelineExecutionId!)
    })
  )

  it.scopedLive("malformed actions go to onMalformed with their bytes; the others arrive; retries absorb faults", () =>
    Effect.gen(function* () {
      const { emulator, service } = yield* withEmulator({
        scenario: { seed: 9, pipelines: 1, executionsPerPipeline: 30, running: 0 },
        faults: {
          malformedRate: 0.5,
          malformedOperations: ["ListActionExecutions"],
          throttleRate: 0.2,
          serverErrorRate: 0.1
        }
      })
      const name = pipelineName(emulator.pipelines()[0]!.name)
      const kept: Array<string> = []
      const all = Chunk.toReadonlyArray(
        yield* Stream.runCollect(
          service.listActionExecutions(name, {
            pageSize: 10,
            onMalformed: (error) => Effect.sync(() => kept.push(new TextDecoder().decode(error.response!.body)))
          })
        )
      )
      const expected = emulator.executions().flatMap((e) => Scenario.actionPlan(e))
      assert.isAbove(emulator.stats().malformed, 0)
      // Each malformed page changed its first action; some changes (an unknown status) still decode.
      assert.isAtMost(kept.length, emulator.stats().malformed)
      assert.strictEqual(all.length + kept.length, expected.length)
    })
  )

  it("the SDK's own client sees the same wire format (maxResults above 100 refused by the emulator)", async () => {
    const { Emulator } = await import("@pipetrail/emulator")
    const emulator = await Emulator.start({ scenario: { seed: 5, pipelines: 1 } })
    const client = new SdkClient({
      region: "us-east-1",
      endpoint: emulator.url,
      maxAttempts: 1,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: "secret" }
    })
    try {
      const name = emulator.pipelines()[0]!.name
      const error = await client.send(new ListActionExecutionsCommand({ pipelineName: name, maxResults: 101 })).then(
        () => undefined,
        (e: unknown) => e as { name: string }
      )
      assert.strictEqual(error?.name, "ValidationException")
      const page = await client.send(new ListActionExecutionsCommand({ pipelineName: name, maxResults: 3 }))
      assert.strictEqual(page.actionExecutionDetails?.length, 3)
      assert.instanceOf(page.actionExecutionDetails?.[0]?.startTime, Date)
      assert.isString(page.nextToken)
    } finally {
      client.destroy()
      await emulator.close()
    }
  })
})

describe("the test layer serves action executions", () => {
  it.effect("filtered by execution, newest first, with the same not-found errors", () =>
    Effect.gen(function* () {
      const name = Identifiers.PipelineName.make("app")
      const id = Identifiers.PipelineExecutionId.make("3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4")
      const action = (actionExecutionId: string, start: number): ActionExecution.ActionExecution =>
        Schema.decodeUnknownSync(ActionExecution.ActionExecution)({
          pipelineExecutionId: id,
          actionExecutionId,
          stageName: "Build",
          actionName: "Build",
          status: "Succeeded",
          startTime: start
        })
      const { service, control } = CodePipelineTest.makeWithControl({
        pipelines: [{ name } as never],
        executions: [],
        actions: [{ pipelineName: name, action: action("a", 1) }]
      })
      yield* control.putAction(name, action("b", 2))
      const listed = Chunk.toReadonlyArray(
        yield* Stream.runCollect(service.listActionExecutions(name, { pipelineExecutionId: id }))
      )
      assert.deepStrictEqual(
        listed.map((a) => a.actionExecutionId),
        ["b", "a"]
      )
      const missing = yield* Stream.runCollect(
        service.listActionExecutions(name, {
          pipelineExecutionId: Identifiers.PipelineExecutionId.make("00000000-0000-4000-8000-000000000000")
        })
      ).pipe(Effect.flip)
      assert.strictEqual(missing._tag, "PipelineExecutionNotFoundError")
    })
  )
})
