import { Either, ParseResult, Schema, type SchemaAST } from "effect"
import * as Canonical from "./Canonical.js"
import { fastCanonicalOf } from "./internal/fastCanonical.js"
import { fastDecode } from "./internal/fastDecode.js"
import { optional } from "./internal/schema.js"
import { type PipelineExecution, pipelineExecutionFields } from "./PipelineExecution.js"
import { type PipelineExecutionSummary, SourceRevision, StopTrigger } from "./PipelineExecutionSummary.js"
import { Timestamp } from "./Timestamp.js"

/**
 * What pipetrail stores for one observed state of an execution: the `GetPipelineExecution`
 * detail merged with the times, source revisions and stop trigger of its list summary.
 */
export const ExecutionDocument = Schema.Struct({
  ...pipelineExecutionFields,
  startTime: optional(Timestamp),
  lastUpdateTime: optional(Timestamp),
  sourceRevisions: optional(Schema.Array(SourceRevision)),
  stopTrigger: optional(StopTrigger)
}).annotations({ identifier: "ExecutionDocument" })
/** The decoded type of `ExecutionDocument`. */
export interface ExecutionDocument extends Schema.Schema.Type<typeof ExecutionDocument> {}
/** The JSON form of `ExecutionDocument` (timestamps as ISO 8601 strings). */
export type Encoded = Schema.Schema.Encoded<typeof ExecutionDocument>

/** The fast canonical serializer, its fields derived from the schema above. */
const fastCanonical = fastCanonicalOf(ExecutionDocument)

const options: SchemaAST.ParseOptions = { onExcessProperty: "preserve" }
const allIssues: SchemaAST.ParseOptions = { errors: "all", onExcessProperty: "preserve" }
const decodeFirst = Schema.decodeUnknownEither(ExecutionDocument, options)
const decodeAll = Schema.decodeUnknownEither(ExecutionDocument, allIssues)

/** A detail and a list summary of two different executions were given to `make`: they are never merged. */
export class MergeMismatchError extends Schema.TaggedError<MergeMismatchError>()("MergeMismatchError", {
  detailExecutionId: Schema.String,
  summaryExecutionId: Schema.String
}) {
  override get message(): string {
    return `the summary of execution ${this.summaryExecutionId} cannot be merged into execution ${this.detailExecutionId}`
  }
}

/**
 * Merges a detail with its list summary. The detail wins where both speak (it was fetched
 * later); the summary adds what only it has. Fields AWS added after this schema are kept.
 * Fails with `MergeMismatchError` when the two are about different executions.
 */
export const make = (
  detail: PipelineExecution,
  summary?: PipelineExecutionSummary
): Either.Either<ExecutionDocument, MergeMismatchError> => {
  if (summary === undefined) return Either.right(detail)
  if (summary.pipelineExecutionId !== detail.pipelineExecutionId) {
    return Either.left(
      new MergeMismatchError({
        detailExecutionId: detail.pipelineExecutionId,
        summaryExecutionId: summary.pipelineExecutionId
      })
    )
  }
  const { pipelineExecutionId: _id, status: _status, ...fromSummary } = summary
  return Either.right({ ...fromSummary, ...detail })
}

/** Decodes a stored or received JSON document; fails with a `ParseError` listing every issue. */
export const decode = (input: unknown): Either.Either<ExecutionDocument, ParseResult.ParseError> => {
  // The fast path keeps no field that would nest past `maxDepth`, so only the schema path checks depth.
  const fast = fastDecode(input)
  if (fast !== undefined) return Either.right(fast as unknown as ExecutionDocument)
  if (Canonical.deeperThan(input, Canonical.maxDepth)) {
    return Either.left(
      new ParseResult.ParseError({
        issue: new ParseResult.Type(
          ExecutionDocument.ast,
          input,
          `the document nests deeper than ${Canonical.maxDepth} levels`
        )
      })
    )
  }
  const result = decodeFirst(input)
  // The fast path stops at the first issue; a failure is decoded again to report every issue.
  return Either.isRight(result) ? result : decodeAll(input)
}

/** Encodes a document to its JSON form (ISO timestamps), keeping fields this schema does not know. */
export const encode: (document: ExecutionDocument) => Encoded = Schema.encodeSync(ExecutionDocument, options)

/**
 * The canonical JSON of a document: equal documents give equal bytes. The document's encoding
 * only turns `Date`s into ISO strings, which `Canonical.stringify` does too, so it skips `encode`.
 */
export const canonicalJson = (document: ExecutionDocument): string =>
  fastCanonical(document) ?? Canonical.stringify(document)

/** The SHA-256 (hex) of the canonical JSON: equal documents give equal hashes. */
export const contentHash = (document: ExecutionDocument): string => Canonical.sha256(canonicalJson(document))
