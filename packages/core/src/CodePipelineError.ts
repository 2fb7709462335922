import { Schema } from "effect"

/** The CodePipeline operations pipetrail calls. */
export const Operation = Schema.Literal(
  "GetPipelineExecution",
  "ListPipelineExecutions",
  "ListPipelines",
  "ListActionExecutions"
)
/** The CodePipeline operations pipetrail calls. */
export type Operation = typeof Operation.Type

/** User input rejected before any request was sent (a bad pipeline name, execution id, page size…). */
export class InvalidInputError extends Schema.TaggedError<InvalidInputError>()("InvalidInputError", {
  field: Schema.String,
  value: Schema.String,
  message: Schema.String
}) {}

/** The pipeline does not exist in this account and region (`PipelineNotFoundException`). */
export class PipelineNotFoundError extends Schema.TaggedError<PipelineNotFoundError>()("PipelineNotFoundError", {
  pipelineName: Schema.String,
  message: Schema.String,
  /** The SDK's own error (name, message, code, request metadata). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** The execution does not exist for that pipeline (`PipelineExecutionNotFoundException`). */
export class PipelineExecutionNotFoundError extends Schema.TaggedError<PipelineExecutionNotFoundError>()(
  "PipelineExecutionNotFoundError",
  {
    pipelineName: Schema.String,
    pipelineExecutionId: Schema.String,
    message: Schema.String,
    /** The SDK's own error (name, message, code, request metadata). */
    cause: Schema.optional(Schema.Defect)
  }
) {}

/** The service rejected the request as invalid (`ValidationException`). */
export class ValidationError extends Schema.TaggedError<ValidationError>()("ValidationError", {
  operation: Operation,
  message: Schema.String,
  requestId: Schema.optional(Schema.String),
  /** The SDK's own error (name, message, code, request metadata). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** A pagination token was rejected (`InvalidNextTokenException`): restart the listing. */
export class InvalidNextTokenError extends Schema.TaggedError<InvalidNextTokenError>()("InvalidNextTokenError", {
  operation: Operation,
  message: Schema.String,
  /** The SDK's own error (name, message, code, request metadata). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** The service throttled the request and retries were exhausted. */
export class ThrottledError extends Schema.TaggedError<ThrottledError>()("ThrottledError", {
  operation: Operation,
  message: Schema.String,
  requestId: Schema.optional(Schema.String),
  /** The SDK's own error (name, message, code, request metadata). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** The caller is not allowed, or has no valid credentials. */
export class AccessDeniedError extends Schema.TaggedError<AccessDeniedError>()("AccessDeniedError", {
  operation: Operation,
  reason: Schema.Literal("AccessDenied", "Credentials"),
  code: Schema.String,
  message: Schema.String,
  requestId: Schema.optional(Schema.String),
  /** The SDK's own error (name, message, code, request metadata). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** The service failed (5xx, or an error pipetrail does not know), after retries. */
export class ServiceFaultError extends Schema.TaggedError<ServiceFaultError>()("ServiceFaultError", {
  operation: Operation,
  code: Schema.String,
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  requestId: Schema.optional(Schema.String),
  /** The SDK's own error (name, message, code, request metadata). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** The request never got an HTTP answer: connection refused or reset, DNS, timeout. */
export class NetworkError extends Schema.TaggedError<NetworkError>()("NetworkError", {
  operation: Operation,
  code: Schema.String,
  message: Schema.String,
  /** The SDK's own error (name, message, code, request metadata). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** An HTTP response as it arrived: status, request id, content type and the body's exact bytes. */
export const HttpResponse = Schema.Struct({
  status: Schema.Number,
  requestId: Schema.optionalWith(Schema.String, { exact: true }),
  contentType: Schema.optionalWith(Schema.String, { exact: true }),
  body: Schema.Uint8ArrayFromSelf
})
/** An HTTP response as it arrived. */
export interface HttpResponse extends Schema.Schema.Type<typeof HttpResponse> {}

/**
 * A response that does not decode into the domain types, or that the SDK could not even parse (a
 * truncated body, a proxy's HTML page). `response` holds the bytes exactly as they arrived, with
 * the status and request id, whenever the call went over HTTP; `payload` is what could be parsed
 * of it (or `null`).
 */
export class ResponseDecodeError extends Schema.TaggedError<ResponseDecodeError>()("ResponseDecodeError", {
  operation: Operation,
  pipelineName: Schema.optional(Schema.String),
  pipelineExecutionId: Schema.optional(Schema.String),
  payload: Schema.Unknown,
  issue: Schema.String,
  response: Schema.optional(HttpResponse),
  /** The SDK's own error, when the SDK could not read the response. */
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `${this.operation} returned a response that does not decode: ${this.issue}`
  }
}

/**
 * A response about something other than what was asked: `GetPipelineExecution` of one execution
 * answered with another execution or another pipeline (a proxy, a cache, a faulty endpoint). Never
 * decoded into an execution; `payload` is the response as received, kept like a malformed one.
 */
export class ResponseMismatchError extends Schema.TaggedError<ResponseMismatchError>()("ResponseMismatchError", {
  operation: Operation,
  pipelineName: Schema.String,
  pipelineExecutionId: Schema.optional(Schema.String),
  receivedPipelineName: Schema.optional(Schema.String),
  receivedPipelineExecutionId: Schema.optional(Schema.String),
  payload: Schema.Unknown,
  response: Schema.optional(HttpResponse)
}) {
  /** The mismatch in words, as `ResponseDecodeError.issue` says what did not decode. */
  get issue(): string {
    const asked = `${this.pipelineName}${this.pipelineExecutionId === undefined ? "" : `/${this.pipelineExecutionId}`}`
    const got = `${this.receivedPipelineName ?? "?"}${this.receivedPipelineExecutionId === undefined ? "" : `/${this.receivedPipelineExecutionId}`}`
    return `asked for ${asked}, the response is about ${got}`
  }

  override get message(): string {
    return `${this.operation} answered about something else: ${this.issue}`
  }
}

/** What any call that sends a request can meet: the service's common errors and unreadable answers. */
export type RequestError =
  | ValidationError
  | ThrottledError
  | AccessDeniedError
  | ServiceFaultError
  | NetworkError
  | ResponseDecodeError

/** What `getPipelineExecution`, `observePipelineExecution` and `awaitExecution` fail with. */
export type GetExecutionError =
  | InvalidInputError
  | PipelineNotFoundError
  | PipelineExecutionNotFoundError
  | ResponseMismatchError
  | RequestError

/** What `listPipelineExecutions` fails with (besides what its `onMalformed` fails with). */
export type ListExecutionsError = InvalidInputError | PipelineNotFoundError | InvalidNextTokenError | RequestError

/** What `listPipelines` fails with. */
export type ListPipelinesError = InvalidInputError | InvalidNextTokenError | RequestError

/**
 * What `listActionExecutions` fails with (besides what its `onMalformed` fails with): a page with an
 * action of another execution than the one asked for is a `ResponseMismatchError`.
 */
export type ListActionsError =
  | InvalidInputError
  | PipelineNotFoundError
  | PipelineExecutionNotFoundError
  | InvalidNextTokenError
  | ResponseMismatchError
  | RequestError

/** What a call of `operation` fails with. */
export type ErrorOf<Op extends Operation> = Op extends "GetPipelineExecution"
  ? GetExecutionError
  : Op extends "ListPipelineExecutions"
    ? ListExecutionsError
    : Op extends "ListActionExecutions"
      ? ListActionsError
      : ListPipelinesError

/** Every way a CodePipeline call can fail. */
export type CodePipelineError =
  | InvalidInputError
  | PipelineNotFoundError
  | PipelineExecutionNotFoundError
  | ValidationError
  | InvalidNextTokenError
  | ThrottledError
  | AccessDeniedError
  | ServiceFaultError
  | NetworkError
  | ResponseDecodeError
  | ResponseMismatchError

/** Whether a failed call is worth retrying: throttling, network, and faults that are not a 4xx. */
export const isRetryable = (error: CodePipelineError): boolean =>
  error._tag === "ThrottledError" ||
  error._tag === "NetworkError" ||
  (error._tag === "ServiceFaultError" && (error.status === undefined || error.status >= 500))
