import { Effect, Either, ParseResult, Schema } from "effect"
import { InvalidInputError } from "./CodePipelineError.js"

interface StringRules {
  readonly label: string
  readonly min?: number
  readonly max?: number
  readonly pattern?: RegExp
  readonly rule: string
}

/**
 * The service model's constraints on each identifier (`shared/aws/codepipeline-service-2.json`):
 * lengths and patterns, in one place. The schemas below, the fast decoder and the emulator's
 * request validation are all built from this table.
 */
export const rules = {
  pipelineName: { min: 1, max: 100, pattern: /^[A-Za-z0-9.@\-_]+$/ },
  pipelineExecutionId: { pattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/ },
  artifactName: { min: 1, max: 100, pattern: /^[a-zA-Z0-9_-]+$/ },
  revisionId: { min: 1, max: 1500 },
  stageName: { min: 1, max: 100, pattern: /^[A-Za-z0-9.@\-_]+$/ },
  actionName: { min: 1, max: 100, pattern: /^[A-Za-z0-9.@\-_]+$/ },
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what an id may not hold
  actionExecutionId: { min: 1, max: 200, pattern: /^[^\u0000]+$/ },
  actionProvider: { min: 1, max: 35, pattern: /^[0-9A-Za-z_-]+$/ },
  actionTypeVersion: { min: 1, max: 9, pattern: /^[0-9A-Za-z_-]+$/ },
  actionNamespace: { min: 1, max: 100, pattern: /^[A-Za-z0-9@\-_]+$/ },
  nextToken: { min: 1, max: 2048 }
} as const satisfies Record<string, { readonly min?: number; readonly max?: number; readonly pattern?: RegExp }>

const describe = (value: unknown): string => (typeof value === "string" ? JSON.stringify(value) : String(value))

const constrainedString = <B extends string>(brand: B, constraints: StringRules) => {
  const message = (issue: ParseResult.ParseIssue) =>
    `invalid ${constraints.label} ${describe(issue.actual)}: expected ${constraints.rule}`
  const annotations = { message, description: constraints.rule }
  let schema: Schema.Schema<string> = Schema.String
  if (constraints.min !== undefined) schema = schema.pipe(Schema.minLength(constraints.min, annotations))
  if (constraints.max !== undefined) schema = schema.pipe(Schema.maxLength(constraints.max, annotations))
  if (constraints.pattern !== undefined) schema = schema.pipe(Schema.pattern(constraints.pattern, annotations))
  return schema.pipe(Schema.brand(brand), Schema.annotations({ identifier: brand }))
}

/** A pipeline name: 1–100 characters of `[A-Za-z0-9.@\-_]`. */
export const PipelineName = constrainedString("PipelineName", {
  label: "pipeline name",
  ...rules.pipelineName,
  rule: "1–100 characters of A–Z, a–z, 0–9, '.', '@', '-', '_'"
})
/** A pipeline name: 1–100 characters of `[A-Za-z0-9.@\-_]`. */
export type PipelineName = typeof PipelineName.Type

/** A pipeline execution id: a lowercase UUID (`8-4-4-4-12` hex digits). */
export const PipelineExecutionId = constrainedString("PipelineExecutionId", {
  label: "pipeline execution id",
  ...rules.pipelineExecutionId,
  rule: "a lowercase UUID like 3137f7cb-7cf7-4f3a-9c53-1e2f0fd1c2a4"
})
/** A pipeline execution id: a lowercase UUID (`8-4-4-4-12` hex digits). */
export type PipelineExecutionId = typeof PipelineExecutionId.Type

/** A pipeline version: an integer ≥ 1. */
export const PipelineVersion = (() => {
  const annotations = {
    message: (issue: ParseResult.ParseIssue) =>
      `invalid pipeline version ${describe(issue.actual)}: expected an integer ≥ 1`,
    description: "an integer ≥ 1"
  }
  return Schema.Number.pipe(
    Schema.int(annotations),
    Schema.greaterThanOrEqualTo(1, annotations),
    Schema.brand("PipelineVersion"),
    Schema.annotations({ identifier: "PipelineVersion" })
  )
})()
/** A pipeline version: an integer ≥ 1. */
export type PipelineVersion = typeof PipelineVersion.Type

/** An artifact name: 1–100 characters of `[a-zA-Z0-9_\-]`. */
export const ArtifactName = constrainedString("ArtifactName", {
  label: "artifact name",
  ...rules.artifactName,
  rule: "1–100 characters of A–Z, a–z, 0–9, '_', '-'"
})
/** An artifact name: 1–100 characters of `[a-zA-Z0-9_\-]`. */
export type ArtifactName = typeof ArtifactName.Type

/** A source revision id (commit id, S3 version, image digest): 1–1500 characters. */
export const RevisionId = constrainedString("RevisionId", {
  label: "revision id",
  ...rules.revisionId,
  rule: "1–1500 characters"
})
/** A source revision id (commit id, S3 version, image digest): 1–1500 characters. */
export type RevisionId = typeof RevisionId.Type

/** A resolved pipeline variable name (the model puts no constraint on it beyond being a string). */
export const VariableName = Schema.String.pipe(Schema.brand("VariableName"))
/** A resolved pipeline variable name. */
export type VariableName = typeof VariableName.Type

/** A stage name: 1–100 characters of `[A-Za-z0-9.@\-_]`. */
export const StageName = constrainedString("StageName", {
  label: "stage name",
  ...rules.stageName,
  rule: "1–100 characters of A–Z, a–z, 0–9, '.', '@', '-', '_'"
})
/** A stage name: 1–100 characters of `[A-Za-z0-9.@\-_]`. */
export type StageName = typeof StageName.Type

/** An action name: 1–100 characters of `[A-Za-z0-9.@\-_]`. */
export const ActionName = constrainedString("ActionName", {
  label: "action name",
  ...rules.actionName,
  rule: "1–100 characters of A–Z, a–z, 0–9, '.', '@', '-', '_'"
})
/** An action name: 1–100 characters of `[A-Za-z0-9.@\-_]`. */
export type ActionName = typeof ActionName.Type

/**
 * An action execution id. The model puts no rule on it; AWS's are UUIDs. pipetrail refuses what
 * names nothing it can keep apart: an empty id, one with a NUL (which PostgreSQL text cannot hold,
 * so two ids would become one), and one longer than 200 characters (an identity must fit an index).
 */
export const ActionExecutionId = constrainedString("ActionExecutionId", {
  label: "action execution id",
  ...rules.actionExecutionId,
  rule: "1–200 characters, no NUL"
})
/** An action execution id. */
export type ActionExecutionId = typeof ActionExecutionId.Type

/** An action provider (`CodeBuild`, `Manual`, `CodeDeploy`…): 1–35 characters of `[0-9A-Za-z_-]`. */
export const ActionProvider = constrainedString("ActionProvider", {
  label: "action provider",
  ...rules.actionProvider,
  rule: "1–35 characters of A–Z, a–z, 0–9, '_', '-'"
})
/** An action provider: 1–35 characters of `[0-9A-Za-z_-]`. */
export type ActionProvider = typeof ActionProvider.Type

/** An action type's version: 1–9 characters of `[0-9A-Za-z_-]`. */
export const ActionTypeVersion = constrainedString("ActionTypeVersion", {
  label: "action type version",
  ...rules.actionTypeVersion,
  rule: "1–9 characters of A–Z, a–z, 0–9, '_', '-'"
})
/** An action type's version: 1–9 characters of `[0-9A-Za-z_-]`. */
export type ActionTypeVersion = typeof ActionTypeVersion.Type

/** The namespace of an action's output variables: 1–100 characters of `[A-Za-z0-9@\-_]`. */
export const ActionNamespace = constrainedString("ActionNamespace", {
  label: "action namespace",
  ...rules.actionNamespace,
  rule: "1–100 characters of A–Z, a–z, 0–9, '@', '-', '_'"
})
/** The namespace of an action's output variables. */
export type ActionNamespace = typeof ActionNamespace.Type

/** A pagination token: 1–2048 characters. */
export const NextToken = constrainedString("NextToken", {
  label: "next token",
  ...rules.nextToken,
  rule: "1–2048 characters"
})
/** A pagination token: 1–2048 characters. */
export type NextToken = typeof NextToken.Type

const firstMessage = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  return issues[0]?.message ?? error.message
}

/**
 * Validates user input against an identifier schema; fails with `InvalidInputError`
 * naming the field, the value and the rule, before anything touches the network.
 */
export const parse =
  <A, I>(schema: Schema.Schema<A, I>, field: string) =>
  (value: unknown): Effect.Effect<A, InvalidInputError> =>
    Either.match(Schema.decodeUnknownEither(schema)(value), {
      onLeft: (error) =>
        Effect.fail(new InvalidInputError({ field, value: describe(value), message: firstMessage(error) })),
      onRight: Effect.succeed
    })

/** Validates user input synchronously; `Left` carries the same `InvalidInputError` as `parse`. */
export const parseEither =
  <A, I>(schema: Schema.Schema<A, I>, field: string) =>
  (value: unknown): Either.Either<A, InvalidInputError> =>
    Either.mapLeft(
      Schema.decodeUnknownEither(schema)(value),
      (error) => new InvalidInputError({ field, value: describe(value), message: firstMessage(error) })
    )
