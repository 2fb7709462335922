import { assert, describe, it } from "@effect/vitest"
import { Diff, ExecutionDocument } from "@pipetrail/core"
import { Arbitrary, FastCheck as fc } from "effect"
import fixture from "./fixtures/get-pipeline-execution.json" with { type: "json" }

const doc = (patch: Record<string, unknown> = {}): ExecutionDocument.ExecutionDocument => {
  const merged: Record<string, unknown> = { ...fixture.pipelineExecution, ...patch }
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key]
  const result = ExecutionDocument.decode(merged)
  if (result._tag === "Left") throw new Error(result.left.message)
  return result.right
}

describe("Diff", () => {
  it("finds nothing between equal states", () => {
    assert.deepStrictEqual(Diff.diff(doc(), doc()), [])
  })

  it("reports a status change with both values", () => {
    const changes = Diff.diff(doc({ status: "InProgress", statusSummary: undefined }), doc())
    assert.deepStrictEqual(changes, [
      { path: "status", field: "status", kind: "changed", before: "InProgress", after: "Succeeded" },
      { path: "statusSummary", field: "statusSummary", kind: "added", after: "All actions succeeded" }
    ])
  })

  it("matches artifact revisions and variables by name, not position", () => {
    const a = doc({
      artifactRevisions: [
        { name: "Config", revisionId: "c1" },
        { name: "SourceArtifact", revisionId: "s1", created: 1748736000 }
      ],
      variables: [
        { name: "A", resolvedValue: "1" },
        { name: "B", resolvedValue: "2" }
      ]
    })
    const b = doc({
      artifactRevisions: [
        { name: "SourceArtifact", revisionId: "s2", created: 1748736000 },
        { name: "Config", revisionId: "c1" }
      ],
      variables: [
        { name: "B", resolvedValue: "3" },
        { name: "C", resolvedValue: "4" }
      ]
    })
    assert.deepStrictEqual(Diff.diff(a, b), [
      {
        path: "artifactRevisions[SourceArtifact].revisionId",
        field: "artifactRevisions",
        key: "SourceArtifact",
        kind: "changed",
        before: "s1",
        after: "s2"
      },
      { path: "variables[A]", field: "variables", key: "A", kind: "removed", before: "1" },
      { path: "variables[B]", field: "variables", key: "B", kind: "changed", before: "2", after: "3" },
      { path: "variables[C]", field: "variables", key: "C", kind: "added", after: "4" }
    ])
  })

  it("reports trigger, mode, type, rollback and times", () => {
    const a = doc({ trigger: { triggerType: "Webhook" }, executionMode: "QUEUED", rollbackMetadata: undefined })
    const b = {
      ...doc({ trigger: { triggerType: "ManualRollback", triggerDetail: "arn:x" }, executionMode: "PARALLEL" }),
      startTime: new Date("2025-06-01T00:00:00Z")
    }
    const paths = Diff.diff(a, b).map((c) => `${c.path}:${c.kind}`)
    assert.deepStrictEqual(paths, [
      "executionMode:changed",
      "trigger.triggerDetail:added",
      "trigger.triggerType:changed",
      "rollbackMetadata:added",
      "startTime:added"
    ])
    const times = Diff.diff(b, { ...b, startTime: new Date("2025-06-01T00:05:00Z") })
    assert.deepStrictEqual(times, [
      {
        path: "startTime",
        field: "startTime",
        kind: "changed",
        before: "2025-06-01T00:00:00.000Z",
        after: "2025-06-01T00:05:00.000Z"
      }
    ])
  })

  it("between two executions reports the id first", () => {
    const changes = Diff.diff(doc(), doc({ pipelineExecutionId: "0e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b" }))
    assert.strictEqual(changes[0]?.path, "pipelineExecutionId")
  })

  it("is empty exactly when the canonical documents are equal", () => {
    const arbitrary = Arbitrary.make(ExecutionDocument.ExecutionDocument)
    fc.assert(
      fc.property(arbitrary, arbitrary, (a, b) => {
        const equal = ExecutionDocument.canonicalJson(a) === ExecutionDocument.canonicalJson(b)
        assert.strictEqual(Diff.diff(a, b).length === 0, equal)
        assert.deepStrictEqual(Diff.diff(a, a), [])
      }),
      { numRuns: 200 }
    )
  })
})
