import { assert, describe, it } from "@effect/vitest"
import { Identifiers } from "@pipetrail/core"
import { Effect, Either, FastCheck as fc } from "effect"
import model from "./fixtures/model-identifiers.json" with { type: "json" }

describe("Identifiers", () => {
  it("accepts names within the model's pattern and length", () => {
    for (const name of ["a", "payments-api", "my.pipe@line_v2", "x".repeat(100)]) {
      assert.isTrue(Either.isRight(Identifiers.parseEither(Identifiers.PipelineName, "pipelineName")(name)), name)
    }
  })

  it("rejects bad pipeline names with the value and the rule", () => {
    for (const name of ["", "has space", "semi;colon", "x".repeat(101), "ünïcode"]) {
      const result = Identifiers.parseEither(Identifiers.PipelineName, "pipelineName")(name)
      assert.isTrue(Either.isLeft(result), name)
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "InvalidInputError")
        assert.strictEqual(result.left.field, "pipelineName")
        assert.strictEqual(result.left.value, JSON.stringify(name))
        assert.include(result.left.message, `invalid pipeline name ${JSON.stringify(name)}`)
        assert.include(result.left.message, "1–100 characters")
      }
    }
  })

  it.effect("rejects execution ids that are not lowercase UUIDs", () =>
    Effect.gen(function* () {
      const ok = yield* Identifiers.parse(Identifiers.PipelineExecutionId, "id")("3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4")
      assert.strictEqual(ok, "3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4")
      for (const bad of ["3137F7CB-7CF7-4F3A-9C53-1E2F0FD1C2A4", "not-an-id", "3137f7cb7cf74f3a9c531e2f0fd1c2a4", ""]) {
        const error = yield* Effect.flip(Identifiers.parse(Identifiers.PipelineExecutionId, "id")(bad))
        assert.include(error.message, "lowercase UUID")
        assert.include(error.message, JSON.stringify(bad))
      }
    })
  )

  it("rejects pipeline versions that are not integers ≥ 1", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      const result = Identifiers.parseEither(Identifiers.PipelineVersion, "pipelineVersion")(bad)
      assert.isTrue(Either.isLeft(result), String(bad))
      if (Either.isLeft(result)) assert.include(result.left.message, "integer ≥ 1")
    }
    assert.isTrue(Either.isRight(Identifiers.parseEither(Identifiers.PipelineVersion, "pipelineVersion")(3)))
  })

  it("rejects values of the wrong type with a clear message", () => {
    const result = Identifiers.parseEither(Identifiers.PipelineName, "pipelineName")(42)
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(result.left.message, "Expected string")
  })

  it("takes every length and pattern from the model, in one table", () => {
    const shapes = model.shapes as Record<string, { min?: number; max?: number; pattern?: string }>
    // An action execution id has no rule in the model; pipetrail refuses an empty one, one with NUL and
    // one past 200 characters: none can be kept apart from others in the store.
    const of: Record<Exclude<keyof typeof Identifiers.rules, "actionExecutionId">, string> = {
      pipelineName: "PipelineName",
      pipelineExecutionId: "PipelineExecutionId",
      artifactName: "ArtifactName",
      revisionId: "Revision",
      stageName: "StageName",
      actionName: "ActionName",
      actionProvider: "ActionProvider",
      actionTypeVersion: "Version",
      actionNamespace: "ActionNamespace",
      nextToken: "NextToken"
    }
    assert.deepStrictEqual(shapes.ActionExecutionId, { type: "string" } as object)
    assert.deepStrictEqual(Identifiers.rules.actionExecutionId.min, 1)
    assert.deepStrictEqual(Identifiers.rules.actionExecutionId.max, 200)
    assert.isFalse(Identifiers.rules.actionExecutionId.pattern.test("x\u0000"))
    assert.isTrue(Identifiers.rules.actionExecutionId.pattern.test("\uFFFD x-1"))
    for (const [key, shape] of Object.entries(of)) {
      const rule: { min?: number; max?: number; pattern?: RegExp } = Identifiers.rules[key as keyof typeof of]
      const wanted = shapes[shape]!
      assert.strictEqual(rule.min, wanted.min, `${key} min`)
      assert.strictEqual(rule.max, wanted.max, `${key} max`)
      // The model's patterns match the whole value; ours say so with anchors. The same strings
      // match both, over an alphabet of the characters the classes name and some they do not.
      if (wanted.pattern === undefined) assert.isUndefined(rule.pattern, key)
      else {
        const ours = new RegExp(`^(?:${wanted.pattern})$`)
        const chars = [..."aAzZ09fF.@-_ /\\é+"]
        fc.assert(
          fc.property(fc.oneof(fc.string({ unit: fc.constantFrom(...chars) }), fc.uuid()), (probe) => {
            assert.strictEqual(rule.pattern!.test(probe), ours.test(probe), `${key} on ${JSON.stringify(probe)}`)
          }),
          { numRuns: 300 }
        )
      }
    }
  })

  it("applies the artifact, stage and action rules of the model", () => {
    assert.isTrue(Either.isLeft(Identifiers.parseEither(Identifiers.ArtifactName, "artifact")("with.dot")))
    assert.isTrue(Either.isRight(Identifiers.parseEither(Identifiers.ArtifactName, "artifact")("Source_Artifact-1")))
    assert.isTrue(Either.isLeft(Identifiers.parseEither(Identifiers.StageName, "stage")("x".repeat(101))))
    assert.isTrue(Either.isRight(Identifiers.parseEither(Identifiers.ActionName, "action")("Deploy.Prod")))
    assert.isTrue(Either.isLeft(Identifiers.parseEither(Identifiers.RevisionId, "revision")("")))
  })
})
