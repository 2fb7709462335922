import {
  AccessDeniedError,
  type CodePipelineError,
  type ErrorOf,
  InvalidInputError,
  InvalidNextTokenError,
  NetworkError,
  type Operation,
  PipelineExecutionNotFoundError,
  PipelineNotFoundError,
  ResponseDecodeError,
  type ResponseMismatchError,
  ServiceFaultError,
  ThrottledError,
  ValidationError
} from "../CodePipelineError.js"
import { jsonOf, type RawResponse } from "./rawResponse.js"

/** The identifiers a request was about, carried into its errors. */
export interface RequestContext {
  readonly operation: Operation
  readonly pipelineName?: string
  readonly pipelineExecutionId?: string
}

const throttlingCodes = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "LimitExceededException"
])

const accessDeniedCodes = new Set(["AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "NotAuthorized"])

const credentialCodes = new Set([
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "InvalidClientTokenId",
  "MissingAuthenticationToken",
  "MissingAuthenticationTokenException",
  "ExpiredToken",
  "ExpiredTokenException",
  "RequestExpired",
  "CredentialsProviderError",
  "TokenProviderError"
])

const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException"
])

interface SdkErrorLike {
  readonly name?: unknown
  readonly code?: unknown
  readonly message?: unknown
  readonly $fault?: unknown
  readonly $metadata?: { readonly httpStatusCode?: unknown; readonly requestId?: unknown }
  readonly $response?: { readonly body?: unknown; readonly statusCode?: unknown }
  readonly $responseBodyText?: unknown
}

const str = (value: unknown): string | undefined => (typeof value === "string" && value.length > 0 ? value : undefined)
const num = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined)

/**
 * The SDK's error as a cause to keep: its name, message, code, fault and request metadata, and its
 * stack; not the response it may hold (kept, when it matters, as the error's `response`) nor
 * anything else it references.
 */
const causeOf = (cause: unknown, error: SdkErrorLike, name: string, message: string): Error => {
  const kept = Object.assign(new Error(message), {
    name,
    ...(str(error.code) === undefined ? {} : { code: error.code }),
    ...(str(error.$fault) === undefined ? {} : { $fault: error.$fault }),
    ...(error.$metadata === undefined ? {} : { $metadata: { ...error.$metadata } })
  })
  if (cause instanceof Error && cause.stack !== undefined) kept.stack = cause.stack
  return kept
}

/** Maps anything the SDK rejects with to exactly one tagged error, keeping the SDK's error as its cause; unknown errors become a fault. */
export const fromSdkError = (
  context: RequestContext,
  cause: unknown,
  raw?: RawResponse
): Exclude<CodePipelineError, ResponseMismatchError> => {
  const error: SdkErrorLike = typeof cause === "object" && cause !== null ? (cause as SdkErrorLike) : {}
  const { operation } = context
  const name = str(error.name) ?? "UnknownError"
  const code = str(error.code)
  const message = str(error.message) ?? (typeof cause === "string" ? cause : `${name} during ${operation}`)
  const status = num(error.$metadata?.httpStatusCode) ?? num(error.$response?.statusCode)
  const requestId = str(error.$metadata?.requestId)
  // Every error but InvalidInputError keeps the SDK's; those with a request id keep it too.
  const kept = { cause: causeOf(cause, error, name, message) }
  const details = { ...(requestId === undefined ? {} : { requestId }), ...kept }

  switch (name) {
    case "PipelineNotFoundException":
      return new PipelineNotFoundError({ pipelineName: context.pipelineName ?? "", message, ...kept })
    case "PipelineExecutionNotFoundException":
      return new PipelineExecutionNotFoundError({
        pipelineName: context.pipelineName ?? "",
        pipelineExecutionId: context.pipelineExecutionId ?? "",
        message,
        ...kept
      })
    case "ValidationException":
      return new ValidationError({ operation, message, ...details })
    case "InvalidNextTokenException":
      return new InvalidNextTokenError({ operation, message, ...kept })
  }
  if (throttlingCodes.has(name) || status === 429) return new ThrottledError({ operation, message, ...details })
  if (accessDeniedCodes.has(name)) {
    return new AccessDeniedError({ operation, reason: "AccessDenied", code: name, message, ...details })
  }
  if (credentialCodes.has(name)) {
    return new AccessDeniedError({ operation, reason: "Credentials", code: name, message, ...details })
  }
  // A 2xx answer the SDK could not deserialize (a string timestamp, a truncated or non-JSON body, a
  // proxy's HTML page): not an AWS error but a malformed response, kept with its bytes.
  const rawStatus = raw?.status
  if (
    (rawStatus !== undefined && rawStatus >= 200 && rawStatus < 300) ||
    (status !== undefined && status >= 200 && status < 300 && error.$response !== undefined)
  ) {
    const body = error.$responseBodyText ?? error.$response?.body
    return new ResponseDecodeError({
      operation,
      ...(context.pipelineName === undefined ? {} : { pipelineName: context.pipelineName }),
      ...(context.pipelineExecutionId === undefined ? {} : { pipelineExecutionId: context.pipelineExecutionId }),
      payload: raw === undefined ? (typeof body === "string" ? body : null) : (jsonOf(raw) ?? null),
      issue: `the SDK could not read the response: ${message.split("\n")[0] ?? message}`,
      ...(raw === undefined ? {} : { response: raw }),
      ...kept
    })
  }
  // The SDK's own configuration check, before any request: retrying cannot help, and the
  // caller can fix it.
  if (status === undefined && message === "Region is missing") {
    return new InvalidInputError({
      field: "region",
      value: "",
      message: "no AWS region is configured: give one (--region, AWS_REGION or the profile's region)"
    })
  }
  if (status === undefined && (networkCodes.has(name) || (code !== undefined && networkCodes.has(code)))) {
    return new NetworkError({ operation, code: code ?? name, message, ...kept })
  }
  if (status === undefined && error.$fault === undefined && (name === "Error" || name === "TypeError")) {
    return new NetworkError({ operation, code: code ?? name, message, ...kept })
  }
  return new ServiceFaultError({
    operation,
    code: name,
    message,
    ...(status === undefined ? {} : { status }),
    ...details
  })
}

/**
 * Which of the service's own exceptions each operation can answer with, as the API model lists
 * them; the common ones (validation, throttling, access, faults) any operation can meet.
 */
const modelled: Record<Operation, ReadonlySet<string>> = {
  GetPipelineExecution: new Set(["PipelineNotFoundError", "PipelineExecutionNotFoundError"]),
  ListPipelineExecutions: new Set(["PipelineNotFoundError", "InvalidNextTokenError"]),
  ListPipelines: new Set(["InvalidNextTokenError"]),
  ListActionExecutions: new Set(["PipelineNotFoundError", "PipelineExecutionNotFoundError", "InvalidNextTokenError"])
}

/**
 * `fromSdkError` for one operation: an exception the model does not list for it (an endpoint
 * answering `GetPipelineExecution` with `InvalidNextTokenException`) is a service fault, so each
 * operation's error type is exactly what it can produce.
 */
export const fromSdkErrorOf = <Op extends Operation>(
  context: RequestContext & { readonly operation: Op },
  cause: unknown,
  raw?: RawResponse
): ErrorOf<Op> => {
  const error = fromSdkError(context, cause, raw)
  const ownException =
    error._tag === "PipelineNotFoundError" ||
    error._tag === "PipelineExecutionNotFoundError" ||
    error._tag === "InvalidNextTokenError"
  const narrowed =
    ownException && !modelled[context.operation].has(error._tag)
      ? new ServiceFaultError({
          operation: context.operation,
          code: error._tag.replace(/Error$/, "Exception"),
          message: `${context.operation} answered with an error it does not return: ${error.message}`,
          ...(error.cause === undefined ? {} : { cause: error.cause })
        })
      : error
  // The check above is what makes this the operation's union; TypeScript cannot follow it through
  // the generic `Op`, so the result is asserted here, at the SDK boundary.
  return narrowed as ErrorOf<Op>
}
