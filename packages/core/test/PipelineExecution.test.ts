import { assert, describe, it } from "@effect/vitest"
import { Canonical, ExecutionDocument, PipelineExecution, PipelineExecutionSummary } from "@pipetrail/core"
import { Arbitrary, Either, FastCheck as fc, Schema } from "effect"
import fixture from "./fixtures/get-pipeline-execution.json" with { type: "json" }

const decodeExecution = Schema.decodeUnknownEither(PipelineExecution.PipelineExecution)

describe("PipelineExecution", () => {
  it("decodes every field of a recorded GetPipelineExecution response (epoch seconds)", () => {
    const result = decodeExecution(fixture.pipelineExecution)
    assert.isTrue(Either.isRight(result))
    if (Either.isLeft(result)) return
    const e = result.right
    assert.strictEqual(e.pipelineName, "payments-api")
    assert.strictEqual(e.pipelineVersion, 7)
    assert.strictEqual(e.pipelineExecutionId, "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4")
    assert.strictEqual(e.status, "Succeeded")
    assert.strictEqual(e.statusSummary, "All actions succeeded")
    assert.strictEqual(e.artifactRevisions?.length, 1)
    const revision = e.artifactRevisions![0]!
    assert.strictEqual(revision.name, "SourceArtifact")
    assert.strictEqual(revision.revisionId, "9f2c7c8d0b3e4a1f8e6d5c4b3a291807f6e5d4c3")
    assert.strictEqual(revision.revisionChangeIdentifier, "42")
    assert.include(revision.revisionSummary, "Fix race in retry loop")
    assert.strictEqual(revision.created?.toISOString(), "2025-06-01T00:00:00.123Z")
    assert.strictEqual(revision.revisionUrl, fixture.pipelineExecution.artifactRevisions[0]!.revisionUrl)
    assert.deepStrictEqual(e.variables, [
      { name: "BuildNumber", resolvedValue: "1234" },
      { name: "Environment", resolvedValue: "production" }
    ] as unknown as typeof e.variables)
    assert.strictEqual(e.trigger?.triggerType, "WebhookV2")
    assert.strictEqual(e.trigger?.triggerDetail, fixture.pipelineExecution.trigger.triggerDetail)
    assert.strictEqual(e.executionMode, "QUEUED")
    assert.strictEqual(e.executionType, "ROLLBACK")
    assert.strictEqual(e.rollbackMetadata?.rollbackTargetPipelineExecutionId, "0e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b")
  })

  it("decodes timestamps from Dates (SDK output) and ISO strings alike", () => {
    const fromDate = decodeExecution({
      ...fixture.pipelineExecution,
      artifactRevisions: [{ name: "A", created: new Date("2025-06-01T00:00:00.123Z") }]
    })
    const fromIso = decodeExecution({
      ...fixture.pipelineExecution,
      artifactRevisions: [{ name: "A", created: "2025-06-01T00:00:00.123Z" }]
    })
    assert.isTrue(Either.isRight(fromDate) && Either.isRight(fromIso))
    if (Either.isRight(fromDate) && Either.isRight(fromIso)) {
      assert.strictEqual(fromDate.right.artifactRevisions![0]!.created!.getTime(), Date.UTC(2025, 5, 1, 0, 0, 0, 123))
      assert.deepStrictEqual(fromDate.right, fromIso.right)
    }
  })

  it("keeps unknown enum values instead of rejecting them", () => {
    const result = decodeExecution({
      ...fixture.pipelineExecution,
      status: "Paused",
      trigger: { triggerType: "ScheduledTrigger" },
      executionMode: "SERIAL",
      executionType: "CANARY"
    })
    assert.isTrue(Either.isRight(result))
    if (Either.isLeft(result)) return
    assert.strictEqual(result.right.status, "Paused")
    assert.isFalse(PipelineExecution.PipelineExecutionStatus.isKnown(result.right.status))
    assert.isFalse(PipelineExecution.isTerminal(result.right.status))
    assert.strictEqual(result.right.trigger?.triggerType, "ScheduledTrigger")
    assert.strictEqual(result.right.executionMode, "SERIAL")
    assert.strictEqual(result.right.executionType, "CANARY")
  })

  it("decodes every known enum value of the model to its literal", () => {
    for (const status of PipelineExecution.PipelineExecutionStatus.literals) {
      const result = decodeExecution({ ...fixture.pipelineExecution, status })
      assert.isTrue(Either.isRight(result) && PipelineExecution.PipelineExecutionStatus.isKnown(result.right.status))
    }
    assert.deepStrictEqual(
      [...PipelineExecution.TriggerType.literals],
      [
        "CreatePipeline",
        "StartPipelineExecution",
        "PollForSourceChanges",
        "Webhook",
        "CloudWatchEvent",
        "PutActionRevision",
        "WebhookV2",
        "ManualRollback",
        "AutomatedRollback"
      ]
    )
  })

  it("rejects structurally broken executions with a readable issue", () => {
    const { pipelineExecutionId: _, ...missingId } = fixture.pipelineExecution
    for (const broken of [
      missingId,
      { ...fixture.pipelineExecution, pipelineVersion: "seven" },
      { ...fixture.pipelineExecution, artifactRevisions: "nope" }
    ]) {
      const result = decodeExecution(broken)
      assert.isTrue(Either.isLeft(result))
    }
    const invalidDate = decodeExecution({ ...fixture.pipelineExecution, artifactRevisions: [{ created: "yesterday" }] })
    assert.isTrue(Either.isLeft(invalidDate))
    if (Either.isLeft(invalidDate)) assert.include(invalidDate.left.message, "invalid timestamp")
  })

  it("merges a summary into the document: times from the summary, the rest from the detail", () => {
    const detail = Schema.decodeUnknownSync(PipelineExecution.PipelineExecution)(fixture.pipelineExecution)
    const summary = Schema.decodeUnknownSync(PipelineExecutionSummary.PipelineExecutionSummary)({
      pipelineExecutionId: detail.pipelineExecutionId,
      status: "InProgress",
      startTime: 1748736000,
      lastUpdateTime: 1748736600,
      sourceRevisions: [{ actionName: "Source", revisionId: "abc" }],
      stopTrigger: { reason: "because" }
    })
    const doc = Either.getOrThrow(ExecutionDocument.make(detail, summary))
    assert.strictEqual(doc.status, "Succeeded")
    assert.strictEqual(doc.startTime?.toISOString(), "2025-06-01T00:00:00.000Z")
    assert.strictEqual(doc.lastUpdateTime?.toISOString(), "2025-06-01T00:10:00.000Z")
    assert.strictEqual(doc.sourceRevisions?.[0]?.actionName, "Source")
    assert.strictEqual(doc.stopTrigger?.reason, "because")
    assert.deepStrictEqual(ExecutionDocument.make(detail), Either.right(detail))
  })

  it("keeps fields AWS adds after this schema through decode and encode", () => {
    const result = ExecutionDocument.decode({ ...fixture.pipelineExecution, newField: { x: 1 } })
    assert.isTrue(Either.isRight(result))
    if (Either.isRight(result)) {
      assert.deepStrictEqual((ExecutionDocument.encode(result.right) as Record<string, unknown>).newField, { x: 1 })
    }
  })
})

describe("ExecutionDocument properties", () => {
  const arbitrary = Arbitrary.make(ExecutionDocument.ExecutionDocument)

  it("any valid document encodes to JSON and decodes back to itself", () => {
    fc.assert(
      fc.property(arbitrary, (doc) => {
        const json = JSON.parse(JSON.stringify(ExecutionDocument.encode(doc)))
        const back = ExecutionDocument.decode(json)
        assert.isTrue(Either.isRight(back))
        if (Either.isRight(back)) {
          assert.strictEqual(ExecutionDocument.canonicalJson(back.right), ExecutionDocument.canonicalJson(doc))
          assert.deepStrictEqual(back.right, doc)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("canonical JSON is the canonical form of the schema's encoding", () => {
    fc.assert(
      fc.property(arbitrary, (doc) => {
        assert.strictEqual(ExecutionDocument.canonicalJson(doc), Canonical.stringify(ExecutionDocument.encode(doc)))
      }),
      { numRuns: 300 }
    )
  })

  it("canonical JSON and hash do not depend on key order", () => {
    const shuffle = (value: unknown, seed: number): unknown => {
      if (Array.isArray(value)) return value.map((v, i) => shuffle(v, seed + i))
      if (value === null || typeof value !== "object" || value instanceof Date) return value
      const entries = Object.entries(value)
      const rotated =
        entries.length === 0
          ? entries
          : [...entries.slice(seed % entries.length), ...entries.slice(0, seed % entries.length)].reverse()
      return Object.fromEntries(rotated.map(([k, v]) => [k, shuffle(v, seed * 31 + k.length)]))
    }
    fc.assert(
      fc.property(arbitrary, fc.nat(), (doc, seed) => {
        const shuffled = shuffle(doc, seed) as ExecutionDocument.ExecutionDocument
        assert.strictEqual(ExecutionDocument.canonicalJson(shuffled), ExecutionDocument.canonicalJson(doc))
        assert.strictEqual(ExecutionDocument.contentHash(shuffled), ExecutionDocument.contentHash(doc))
      }),
      { numRuns: 200 }
    )
  })

  it("different documents hash differently", () => {
    fc.assert(
      fc.property(arbitrary, arbitrary, (a, b) => {
        fc.pre(Canonical.stringify(ExecutionDocument.encode(a)) !== Canonical.stringify(ExecutionDocument.encode(b)))
        assert.notStrictEqual(ExecutionDocument.contentHash(a), ExecutionDocument.contentHash(b))
      }),
      { numRuns: 100 }
    )
  })
})

describe("open enums keep their literals in the types", () => {
  it("a misspelt status does not type-check; a known one and a parsed unknown one do", () => {
    const known: PipelineExecution.PipelineExecutionStatus = "Failed"
    // @ts-expect-error "Faild" is no status: the type is the literals plus the branded unknown, not any string
    const misspelt: PipelineExecution.PipelineExecutionStatus = "Faild"
    const unknown: PipelineExecution.PipelineExecutionStatus = PipelineExecution.PipelineExecutionStatus.of("Paused")
    assert.deepStrictEqual([known, misspelt, unknown], ["Failed", "Faild", "Paused"])
    assert.isFalse(PipelineExecution.PipelineExecutionStatus.isKnown(unknown))
  })
})
