// Longer than most files here (~500 lines), on purpose: the service's interface, its configuration
// and `make`, whose operations share one request pipeline — validation before any request,
// the client-side rate limit, retries, raw-body capture, identity checks and decoding. Those steps
// live in `internal/` (rateLimiter, rawResponse, sdkError, pageSize); what stays is how they compose.
import type { CodePipelineClientConfig, CodePipelineClient as SdkClient } from "@aws-sdk/client-codepipeline"
import {
  Chunk,
  Clock,
  Config,
  type ConfigError,
  Context,
  Duration,
  Effect,
  Either,
  Layer,
  Metric,
  Option,
  ParseResult,
  Redacted,
  Schedule,
  Schema,
  type SchemaAST,
  Stream
} from "effect"
import { ActionExecution } from "./ActionExecution.js"
import * as Canonical from "./Canonical.js"
import {
  type GetExecutionError,
  isRetryable,
  type ListActionsError,
  type ListExecutionsError,
  type ListPipelinesError,
  NetworkError,
  type Operation,
  ResponseDecodeError,
  ResponseMismatchError
} from "./CodePipelineError.js"
import { NextToken, type PipelineExecutionId, type PipelineName, parse, StageName } from "./Identifiers.js"
import { validatePageSize } from "./internal/pageSize.js"
import * as RateLimiter from "./internal/rateLimiter.js"
import { type Capture, captureRaw, jsonOf, type RawResponse } from "./internal/rawResponse.js"
import { fromSdkErrorOf, type RequestContext } from "./internal/sdkError.js"
import { isTerminal, PipelineExecution } from "./PipelineExecution.js"
import { PipelineExecutionSummary } from "./PipelineExecutionSummary.js"
import { PipelineSummary } from "./PipelineSummary.js"

/** Options of `listPipelineExecutions`. */
export interface ListExecutionsOptions<E = never> {
  /** Page size, 1–100 (default 100). */
  readonly pageSize?: number
  /** Only executions that succeeded in this stage. */
  readonly succeededInStage?: string
  /** Called with a summary that does not decode; the summary is then skipped. Without it the stream fails. */
  readonly onMalformed?: (error: ResponseDecodeError) => Effect.Effect<void, E>
}

/** Options of `listActionExecutions`. */
export interface ListActionsOptions<E = never> {
  /** Only the action executions of this pipeline execution (every answer is checked to be about it). */
  readonly pipelineExecutionId?: PipelineExecutionId
  /** Page size, 1–100 (default 100, the model's limit). */
  readonly pageSize?: number
  /** Called with an action execution that does not decode; it is then skipped. Without it the stream fails. */
  readonly onMalformed?: (error: ResponseDecodeError) => Effect.Effect<void, E>
}

/** Options of `awaitExecution`. */
export interface AwaitOptions {
  /** How often to poll (default: every 5 seconds). */
  readonly schedule?: Schedule.Schedule<unknown, PipelineExecution>
}

/** What a response said, with the time it was received: an observation, as the store records it. */
export interface Observed<A> {
  readonly value: A
  /** When the response arrived (the `Clock`'s time), not when it is recorded. */
  readonly observedAt: Date
}

/**
 * The CodePipeline calls pipetrail needs, decoded into domain types. Each fails only with the
 * errors it can produce (`GetExecutionError`, `ListExecutionsError`, `ListPipelinesError`: subsets
 * of `CodePipelineError`).
 */
export interface CodePipelineService {
  /** Fetches one execution; fails before any request when the name or id is invalid. */
  readonly getPipelineExecution: (
    pipelineName: PipelineName,
    pipelineExecutionId: PipelineExecutionId
  ) => Effect.Effect<PipelineExecution, GetExecutionError>
  /** `getPipelineExecution` with the time its response arrived: what a snapshot job records. */
  readonly observePipelineExecution: (
    pipelineName: PipelineName,
    pipelineExecutionId: PipelineExecutionId
  ) => Effect.Effect<Observed<PipelineExecution>, GetExecutionError>
  /** Every execution summary of a pipeline, newest first, over all pages. */
  readonly listPipelineExecutions: <E = never>(
    pipelineName: PipelineName,
    options?: ListExecutionsOptions<E>
  ) => Stream.Stream<PipelineExecutionSummary, ListExecutionsError | E>
  /**
   * Every action execution of a pipeline (or of one of its executions), newest first, over all
   * pages: stage, action, times, who updated it, status, input and output.
   */
  readonly listActionExecutions: <E = never>(
    pipelineName: PipelineName,
    options?: ListActionsOptions<E>
  ) => Stream.Stream<ActionExecution, ListActionsError | E>
  /** `listActionExecutions` with the time each page's response arrived: what a snapshot job records. */
  readonly observeActionExecutions: <E = never>(
    pipelineName: PipelineName,
    options?: ListActionsOptions<E>
  ) => Stream.Stream<Observed<ActionExecution>, ListActionsError | E>
  /** Every pipeline of the account and region, over all pages. */
  readonly listPipelines: (options?: {
    readonly pageSize?: number
  }) => Stream.Stream<PipelineSummary, ListPipelinesError>
  /** Polls an execution until it reaches a terminal status; returns that final state. */
  readonly awaitExecution: (
    pipelineName: PipelineName,
    pipelineExecutionId: PipelineExecutionId,
    options?: AwaitOptions
  ) => Effect.Effect<PipelineExecution, GetExecutionError>
}

/** The CodePipeline service. */
export class CodePipeline extends Context.Tag("@pipetrail/core/CodePipeline")<CodePipeline, CodePipelineService>() {}

/** The raw AWS SDK client, its own service so tests can swap it. */
export class CodePipelineClient extends Context.Tag("@pipetrail/core/CodePipelineClient")<
  CodePipelineClient,
  SdkClient
>() {}

/** Static credentials; the secret stays `Redacted` until handed to the SDK. */
export interface Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: Redacted.Redacted<string>
  readonly sessionToken?: Redacted.Redacted<string>
}

/** How to reach CodePipeline and how hard to push it. */
export interface CodePipelineConfig {
  /** AWS region; defaults to the SDK's chain (`AWS_REGION`, profile). */
  readonly region?: string
  /** Named profile from the shared config files. */
  readonly profile?: string
  /** Static credentials instead of the default chain. */
  readonly credentials?: Credentials
  /** Endpoint override: the emulator, LocalStack, a VPC endpoint. */
  readonly endpoint?: string
  /** Attempts per call, including the first (default 8). */
  readonly maxAttempts?: number
  /** Starting request rate, per second (default 10); it adapts to throttling. */
  readonly requestsPerSecond?: number
  /** The rate never grows beyond this (default 1000). */
  readonly maxRequestsPerSecond?: number
  /** The rate never drops below this when throttled (default 0.2). Set min = max for a fixed rate. */
  readonly minRequestsPerSecond?: number
  /** Requests in flight at once (default 8). */
  readonly concurrency?: number
  /** Time limit of one attempt (default 30 seconds). */
  readonly requestTimeout?: Duration.DurationInput
  /** First retry delay; doubles with jitter up to `maxRetryDelay` (default 100 ms). */
  readonly baseRetryDelay?: Duration.DurationInput
  /** Cap of a retry delay (default 10 seconds). */
  readonly maxRetryDelay?: Duration.DurationInput
}

const decodeOptions: SchemaAST.ParseOptions = { errors: "all", onExcessProperty: "preserve" }

/**
 * Why a payload is refused before it is decoded, if it is: it nests deeper than any CodePipeline
 * response (`Canonical.maxDepth`), or it has a member named `__proto__`. Decoding copies members
 * onto a new object, where that one would become its prototype, and a prototype's fields read like
 * the object's own (a forged approver) while serializing without it; no CodePipeline shape has such
 * a member. One walk, which stops at the first refusal; the payload is then kept with its bytes.
 */
const refusal = (payload: unknown): string | undefined => {
  const stack: Array<readonly [unknown, number]> = [[payload, 1]]
  while (stack.length > 0) {
    const [value, level] = stack.pop()!
    if (value === null || typeof value !== "object" || value instanceof Date) continue
    if (level > Canonical.maxDepth) return `the response nests deeper than ${Canonical.maxDepth} levels`
    if (!Array.isArray(value) && Object.hasOwn(value, "__proto__")) {
      return "the response has a member named __proto__, which no CodePipeline shape has"
    }
    for (const item of Object.values(value)) stack.push([item, level + 1])
  }
  return undefined
}

/** `refusal` as a parse error, if there is one. */
const refused = (payload: unknown): Either.Either<never, ParseResult.ParseError> | undefined => {
  const issue = refusal(payload)
  return issue === undefined
    ? undefined
    : Either.left(new ParseResult.ParseError({ issue: new ParseResult.Type(Schema.Unknown.ast, payload, issue) }))
}

/** A response of the request in `context` that does not decode, kept with its bytes when it has them. */
const decodeError = (context: RequestContext, payload: unknown, issue: string, response: RawResponse | undefined) =>
  new ResponseDecodeError({
    operation: context.operation,
    ...(context.pipelineName === undefined ? {} : { pipelineName: context.pipelineName }),
    ...(context.pipelineExecutionId === undefined ? {} : { pipelineExecutionId: context.pipelineExecutionId }),
    payload,
    issue,
    ...(response === undefined ? {} : { response })
  })

const formatIssue = (error: ParseResult.ParseError): string => ParseResult.TreeFormatter.formatErrorSync(error)

const withoutMetadata = (output: object): unknown => {
  const { $metadata: _, ...rest } = output as { $metadata?: unknown }
  return rest
}

/**
 * What the service sent: the body as it arrived, parsed here, so members the installed SDK does not
 * know yet are kept (its deserializer drops them); the SDK's output only where no body was captured
 * (a client without HTTP, such as a test double).
 */
const bodyOf = (output: object, raw: RawResponse | undefined): unknown => {
  const json = raw === undefined ? undefined : jsonOf(raw)
  return json !== undefined ? json : withoutMetadata(output)
}

/** Requests sent to CodePipeline by every service in this process, each attempt counted. */
export const requests = Metric.counter("pipetrail_codepipeline_requests", {
  description: "requests sent to CodePipeline (each attempt)",
  incremental: true
})

/** Requests CodePipeline answered with throttling (then retried after a pause). */
export const throttled = Metric.counter("pipetrail_codepipeline_throttled", {
  description: "requests CodePipeline throttled",
  incremental: true
})

/** Builds the service over the SDK client in context: validation, pacing, retries, decoding. */
export const make = (config: CodePipelineConfig = {}): Effect.Effect<CodePipelineService, never, CodePipelineClient> =>
  Effect.gen(function* () {
    const client = yield* CodePipelineClient
    const {
      GetPipelineExecutionCommand,
      ListActionExecutionsCommand,
      ListPipelineExecutionsCommand,
      ListPipelinesCommand
    } = yield* loadSdk
    const limiter = yield* RateLimiter.make({
      initial: config.requestsPerSecond ?? 10,
      min: config.minRequestsPerSecond ?? 0.2,
      max: Math.max(config.maxRequestsPerSecond ?? 1000, config.requestsPerSecond ?? 0)
    })
    const semaphore = yield* Effect.makeSemaphore(config.concurrency ?? 8)
    const timeout = Duration.decode(config.requestTimeout ?? "30 seconds")
    const retrySchedule = Schedule.exponential(config.baseRetryDelay ?? "100 millis").pipe(
      Schedule.either(Schedule.spaced(config.maxRetryDelay ?? "10 seconds")),
      Schedule.jittered,
      Schedule.intersect(Schedule.recurs(Math.max(0, (config.maxAttempts ?? 8) - 1)))
    )

    /** One request; its response body, as it arrived, comes back with the SDK's output. */
    const attempt = <A, Op extends Operation>(
      context: RequestContext & { readonly operation: Op },
      call: (signal: AbortSignal, capture: Capture) => Promise<A>
    ) =>
      limiter.take.pipe(
        Effect.flatMap((ticket) =>
          Effect.suspend(() => {
            const capture: Capture = {}
            return Effect.tryPromise({
              try: async (signal) => ({ output: await call(signal, capture), raw: capture.raw }),
              catch: (cause) => fromSdkErrorOf(context, cause, capture.raw)
            })
          }).pipe(
            Effect.timeoutFail({
              duration: timeout,
              onTimeout: () =>
                new NetworkError({
                  operation: context.operation,
                  code: "Timeout",
                  message: `no answer within ${Duration.format(timeout)}`
                })
            }),
            Effect.tapBoth({
              onFailure: (error) =>
                error._tag === "ThrottledError"
                  ? Effect.zipRight(Metric.increment(throttled), limiter.throttled(ticket))
                  : Effect.void,
              onSuccess: () => limiter.succeeded(ticket)
            }),
            Metric.trackAll(requests, 1)
          )
        ),
        semaphore.withPermits(1)
      )

    const send = <A, Op extends Operation>(
      context: RequestContext & { readonly operation: Op },
      call: (signal: AbortSignal, capture: Capture) => Promise<A>
    ) =>
      attempt(context, call).pipe(
        Effect.tapError((error) =>
          isRetryable(error)
            ? Effect.logDebug(`${context.operation} failed, retrying`).pipe(Effect.annotateLogs({ error: error._tag }))
            : Effect.void
        ),
        Effect.retry({ schedule: retrySchedule, while: isRetryable }),
        Effect.withSpan(`CodePipeline.${context.operation}`, {
          attributes: { pipelineName: context.pipelineName, pipelineExecutionId: context.pipelineExecutionId }
        })
      )

    const decodeWith = <A, I>(schema: Schema.Schema<A, I>, context: RequestContext) => {
      const decode = Schema.decodeUnknownEither(schema, decodeOptions)
      return (payload: unknown, response: RawResponse | undefined): Effect.Effect<A, ResponseDecodeError> =>
        Either.match(refused(payload) ?? decode(payload), {
          onLeft: (error) => Effect.fail(decodeError(context, payload, formatIssue(error), response)),
          onRight: Effect.succeed
        })
    }

    /**
     * A list page's items and where the listing goes next, read from the body as it arrived. A body
     * without the list (not an object, the member missing or not a list) is malformed, never read
     * as an empty page; so is a `nextToken` that is not a valid token, or one this listing was
     * already given (a listing that would never end). Both fail with a `ResponseDecodeError` that
     * keeps the bytes, so nothing is silently cut short.
     */
    const pageOf = (
      context: RequestContext,
      member: string,
      body: unknown,
      response: RawResponse | undefined,
      tokens: Set<string>
    ): Effect.Effect<
      { readonly items: ReadonlyArray<unknown>; readonly next: Option.Option<Option.Option<string>> },
      ResponseDecodeError
    > => {
      const malformed = (issue: string) => Effect.fail(decodeError(context, body, issue, response))
      const fields =
        typeof body === "object" && body !== null && !Array.isArray(body)
          ? (body as Record<string, unknown>)
          : undefined
      const items = fields?.[member]
      if (!Array.isArray(items)) return malformed(`the response has no ${member} list`)
      const token = fields!.nextToken
      if (token === undefined || token === null) return Effect.succeed({ items, next: Option.none() })
      if (Either.isLeft(Schema.decodeUnknownEither(NextToken)(token))) {
        return malformed(
          `the response's nextToken is not a valid token (1–2048 characters): ${JSON.stringify(token)?.slice(0, 80)}`
        )
      }
      if (tokens.has(token as string))
        return malformed("the response repeats a nextToken this listing was already given")
      tokens.add(token as string)
      return Effect.succeed({ items, next: Option.some(Option.some(token as string)) })
    }

    /**
     * Decodes one item of a list page: a malformed one goes to `onMalformed` and is skipped, or
     * fails the stream when there is none.
     */
    const itemDecoder = <A, I, E>(
      schema: Schema.Schema<A, I>,
      context: RequestContext,
      onMalformed: ((error: ResponseDecodeError) => Effect.Effect<void, E>) | undefined
    ) => {
      const decode = decodeWith(schema, context)
      return (response: RawResponse | undefined) =>
        (item: unknown): Effect.Effect<Option.Option<A>, ResponseDecodeError | E> =>
          decode(item, response).pipe(
            Effect.map(Option.some),
            Effect.catchAll(
              (error): Effect.Effect<Option.Option<A>, ResponseDecodeError | E> =>
                onMalformed === undefined ? Effect.fail(error) : Effect.as(onMalformed(error), Option.none())
            )
          )
    }

    const decodeExecution = (context: RequestContext, response: RawResponse | undefined) => (payload: unknown) =>
      decodeWith(PipelineExecution, context)(payload, response)

    /**
     * The execution of a `GetPipelineExecution` answer, if it is the one asked for: its id must be
     * the requested id (one without an id fails decoding), and its pipeline name the requested name
     * (taken from the request when the body has none). Anything else is a `ResponseMismatchError`.
     */
    const sameExecution = (
      context: RequestContext & { readonly pipelineName: string; readonly pipelineExecutionId: string },
      payload: { readonly pipelineExecution?: unknown },
      response: RawResponse | undefined
    ): Effect.Effect<unknown, ResponseMismatchError> => {
      const execution = payload.pipelineExecution
      if (typeof execution !== "object" || execution === null || Array.isArray(execution))
        return Effect.succeed(execution)
      const body = execution as { readonly pipelineName?: unknown; readonly pipelineExecutionId?: unknown }
      // A body without an id names nothing: the schema refuses it as malformed.
      const sameId = body.pipelineExecutionId === undefined || body.pipelineExecutionId === context.pipelineExecutionId
      const sameName = body.pipelineName === undefined || body.pipelineName === context.pipelineName
      if (sameId && sameName) {
        return Effect.succeed(body.pipelineName === undefined ? { ...body, pipelineName: context.pipelineName } : body)
      }
      return Effect.fail(
        new ResponseMismatchError({
          operation: context.operation,
          pipelineName: context.pipelineName,
          pipelineExecutionId: context.pipelineExecutionId,
          ...(typeof body.pipelineName === "string" ? { receivedPipelineName: body.pipelineName } : {}),
          ...(typeof body.pipelineExecutionId === "string"
            ? { receivedPipelineExecutionId: body.pipelineExecutionId }
            : {}),
          payload,
          ...(response === undefined ? {} : { response })
        })
      )
    }

    // Names and ids arrive branded: parsed once where they entered the program, not per request.
    const observePipelineExecution = (name: PipelineName, id: PipelineExecutionId) =>
      Effect.gen(function* () {
        const context = { operation: "GetPipelineExecution", pipelineName: name, pipelineExecutionId: id } as const
        const { output, raw } = yield* send(context, (abortSignal, capture) =>
          client.send(
            captureRaw(new GetPipelineExecutionCommand({ pipelineName: name, pipelineExecutionId: id }), capture),
            { abortSignal }
          )
        )
        const receivedAt = yield* Clock.currentTimeMillis
        const payload = bodyOf(output, raw) as { pipelineExecution?: unknown }
        if (typeof payload !== "object" || payload === null || payload.pipelineExecution === undefined) {
          return yield* decodeError(context, payload, "the response has no pipelineExecution", raw)
        }
        const value = yield* decodeExecution(context, raw)(yield* sameExecution(context, payload, raw))
        return { value, observedAt: new Date(receivedAt) }
      })

    const getPipelineExecution = (pipelineName: PipelineName, pipelineExecutionId: PipelineExecutionId) =>
      Effect.map(observePipelineExecution(pipelineName, pipelineExecutionId), (observed) => observed.value)

    const listPipelineExecutions = <E = never>(name: PipelineName, options: ListExecutionsOptions<E> = {}) =>
      Stream.unwrap(
        Effect.gen(function* () {
          const pageSize = yield* validatePageSize(options.pageSize, 100)
          const stage =
            options.succeededInStage === undefined
              ? undefined
              : yield* parse(StageName, "succeededInStage")(options.succeededInStage)
          const context = { operation: "ListPipelineExecutions", pipelineName: name } as const
          const tokens = new Set<string>()
          const onItem = itemDecoder(PipelineExecutionSummary, context, options.onMalformed)
          const page = (nextToken: Option.Option<string>) =>
            Effect.gen(function* () {
              const { output, raw } = yield* send(context, (abortSignal, capture) =>
                client.send(
                  captureRaw(
                    new ListPipelineExecutionsCommand({
                      pipelineName: name,
                      ...(pageSize === undefined ? {} : { maxResults: pageSize }),
                      ...(stage === undefined ? {} : { filter: { succeededInStage: { stageName: stage } } }),
                      ...(Option.isSome(nextToken) ? { nextToken: nextToken.value } : {})
                    }),
                    capture
                  ),
                  { abortSignal }
                )
              )
              const listed = yield* pageOf(context, "pipelineExecutionSummaries", bodyOf(output, raw), raw, tokens)
              const items = yield* Effect.forEach(listed.items, onItem(raw))
              return [Chunk.fromIterable(items.flatMap((item) => Option.toArray(item))), listed.next] as const
            })
          return Stream.paginateChunkEffect(Option.none<string>(), page)
        })
      )

    /**
     * A page of `ListActionExecutions` filtered by execution must be about that execution only: an
     * action of another execution (a proxy, a cache, a faulty endpoint) fails the page with a
     * `ResponseMismatchError` that keeps it. An action without an execution id fails decoding.
     */
    const sameExecutionActions = (
      context: RequestContext & { readonly pipelineName: string },
      items: ReadonlyArray<unknown>,
      body: unknown,
      response: RawResponse | undefined
    ): Effect.Effect<void, ResponseMismatchError> => {
      if (context.pipelineExecutionId === undefined) return Effect.void
      const other = items.find(
        (item): item is { pipelineExecutionId: string } =>
          typeof item === "object" &&
          item !== null &&
          typeof (item as { pipelineExecutionId?: unknown }).pipelineExecutionId === "string" &&
          (item as { pipelineExecutionId: string }).pipelineExecutionId !== context.pipelineExecutionId
      )
      if (other === undefined) return Effect.void
      return Effect.fail(
        new ResponseMismatchError({
          operation: context.operation,
          pipelineName: context.pipelineName,
          pipelineExecutionId: context.pipelineExecutionId,
          receivedPipelineName: context.pipelineName,
          receivedPipelineExecutionId: other.pipelineExecutionId,
          payload: body,
          ...(response === undefined ? {} : { response })
        })
      )
    }

    const observeActionExecutions = <E = never>(name: PipelineName, options: ListActionsOptions<E> = {}) =>
      Stream.unwrap(
        Effect.gen(function* () {
          const pageSize = yield* validatePageSize(options.pageSize, 100)
          const executionId = options.pipelineExecutionId
          const context = {
            operation: "ListActionExecutions",
            pipelineName: name,
            ...(executionId === undefined ? {} : { pipelineExecutionId: executionId })
          } as const
          const onItem = itemDecoder(ActionExecution, context, options.onMalformed)
          const tokens = new Set<string>()
          const page = (nextToken: Option.Option<string>) =>
            Effect.gen(function* () {
              const { output, raw } = yield* send(context, (abortSignal, capture) =>
                client.send(
                  captureRaw(
                    new ListActionExecutionsCommand({
                      pipelineName: name,
                      ...(pageSize === undefined ? {} : { maxResults: pageSize }),
                      ...(executionId === undefined ? {} : { filter: { pipelineExecutionId: executionId } }),
                      ...(Option.isSome(nextToken) ? { nextToken: nextToken.value } : {})
                    }),
                    capture
                  ),
                  { abortSignal }
                )
              )
              const observedAt = new Date(yield* Clock.currentTimeMillis)
              const body = bodyOf(output, raw)
              const listed = yield* pageOf(context, "actionExecutionDetails", body, raw, tokens)
              yield* sameExecutionActions(context, listed.items, body, raw)
              const items = yield* Effect.forEach(listed.items, onItem(raw))
              return [
                Chunk.fromIterable(
                  items.flatMap((item) => Option.toArray(item)).map((value) => ({ value, observedAt }))
                ),
                listed.next
              ] as const
            })
          return Stream.paginateChunkEffect(Option.none<string>(), page)
        })
      )

    const listActionExecutions = <E = never>(name: PipelineName, options: ListActionsOptions<E> = {}) =>
      Stream.map(observeActionExecutions(name, options), (observed) => observed.value)

    const listPipelines = (options: { readonly pageSize?: number } = {}) =>
      Stream.unwrap(
        Effect.gen(function* () {
          const pageSize = yield* validatePageSize(options.pageSize, 1000)
          const context = { operation: "ListPipelines" } as const
          const tokens = new Set<string>()
          const decodePage = decodeWith(Schema.Array(PipelineSummary), context)
          const page = (nextToken: Option.Option<string>) =>
            send(context, (abortSignal, capture) =>
              client.send(
                captureRaw(
                  new ListPipelinesCommand({
                    ...(pageSize === undefined ? {} : { maxResults: pageSize }),
                    ...(Option.isSome(nextToken) ? { nextToken: nextToken.value } : {})
                  }),
                  capture
                ),
                { abortSignal }
              )
            ).pipe(
              Effect.flatMap(({ output, raw }) =>
                Effect.flatMap(pageOf(context, "pipelines", bodyOf(output, raw), raw, tokens), (listed) =>
                  Effect.map(
                    decodePage(listed.items, raw),
                    (items) => [Chunk.fromIterable(items), listed.next] as const
                  )
                )
              )
            )
          return Stream.paginateChunkEffect(Option.none<string>(), page)
        })
      )

    const awaitExecution = (
      pipelineName: PipelineName,
      pipelineExecutionId: PipelineExecutionId,
      options: AwaitOptions = {}
    ) =>
      getPipelineExecution(pipelineName, pipelineExecutionId).pipe(
        Effect.repeat(untilTerminal(options.schedule ?? Schedule.spaced("5 seconds")))
      )

    return CodePipeline.of({
      getPipelineExecution,
      observePipelineExecution,
      listPipelineExecutions,
      listActionExecutions,
      observeActionExecutions,
      listPipelines,
      awaitExecution
    })
  })

/** Repeats on `schedule` while the execution is not terminal; outputs the last state seen. */
export const untilTerminal = (schedule: Schedule.Schedule<unknown, PipelineExecution>) =>
  schedule.pipe(
    Schedule.zipRight(Schedule.identity<PipelineExecution>()),
    Schedule.whileInput((execution: PipelineExecution) => !isTerminal(execution.status))
  )

/**
 * The SDK, loaded when a service or client is first built rather than when this module is: a
 * program that imports core but never calls AWS (the CLI's store commands, `--help`) does not pay
 * for loading it.
 */
const loadSdk = Effect.promise(() => import("@aws-sdk/client-codepipeline"))

/** A scoped SDK client built from `config`; destroyed (sockets closed) when the scope closes. */
export const layerClient = (config: CodePipelineConfig = {}): Layer.Layer<CodePipelineClient> =>
  Layer.scoped(
    CodePipelineClient,
    Effect.acquireRelease(
      Effect.map(loadSdk, ({ CodePipelineClient: Client }) => {
        const sdkConfig: CodePipelineClientConfig = {
          maxAttempts: 1,
          ...(config.region === undefined ? {} : { region: config.region }),
          ...(config.profile === undefined ? {} : { profile: config.profile }),
          ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
          ...(config.credentials === undefined
            ? {}
            : {
                credentials: {
                  accessKeyId: config.credentials.accessKeyId,
                  secretAccessKey: Redacted.value(config.credentials.secretAccessKey),
                  ...(config.credentials.sessionToken === undefined
                    ? {}
                    : { sessionToken: Redacted.value(config.credentials.sessionToken) })
                }
              })
        }
        return new Client(sdkConfig)
      }),
      (client) => Effect.sync(() => client.destroy())
    )
  )

/** The service over a real SDK client built from `config`. */
export const layer = (config: CodePipelineConfig = {}): Layer.Layer<CodePipeline> =>
  Layer.effect(CodePipeline, make(config)).pipe(Layer.provide(layerClient(config)))

/**
 * The configuration `layerConfig` reads when given none: `AWS_REGION`, `AWS_PROFILE`,
 * `PIPETRAIL_ENDPOINT_URL`, `PIPETRAIL_MAX_ATTEMPTS`, `PIPETRAIL_REQUESTS_PER_SECOND` and
 * `PIPETRAIL_CONCURRENCY`, each optional; credentials come from the SDK's default chain.
 */
export const defaultConfig: Config.Config<CodePipelineConfig> = Config.all({
  region: Config.option(Config.string("AWS_REGION")),
  profile: Config.option(Config.string("AWS_PROFILE")),
  endpoint: Config.option(Config.string("PIPETRAIL_ENDPOINT_URL")),
  maxAttempts: Config.option(Config.integer("PIPETRAIL_MAX_ATTEMPTS")),
  requestsPerSecond: Config.option(Config.number("PIPETRAIL_REQUESTS_PER_SECOND")),
  concurrency: Config.option(Config.integer("PIPETRAIL_CONCURRENCY"))
}).pipe(
  Config.map(
    (c): CodePipelineConfig => ({
      ...Option.match(c.region, { onNone: () => ({}), onSome: (region) => ({ region }) }),
      ...Option.match(c.profile, { onNone: () => ({}), onSome: (profile) => ({ profile }) }),
      ...Option.match(c.endpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
      ...Option.match(c.maxAttempts, { onNone: () => ({}), onSome: (maxAttempts) => ({ maxAttempts }) }),
      ...Option.match(c.requestsPerSecond, {
        onNone: () => ({}),
        onSome: (requestsPerSecond) => ({ requestsPerSecond })
      }),
      ...Option.match(c.concurrency, { onNone: () => ({}), onSome: (concurrency) => ({ concurrency }) })
    })
  )
)

/**
 * The service configured through `Config`, as `@effect/sql-pg`'s `layerConfig` is: each field a
 * `Config` of your own (your keys, `Config.redacted` secrets, static credentials), or one
 * `Config` of the whole; `defaultConfig` (the environment names above) when given nothing. Fails
 * with a `ConfigError` naming the key when a value is missing or malformed.
 *
 * @example
 * CodePipeline.layerConfig({
 *   region: Config.string("DEPLOY_REGION"),
 *   credentials: Config.all({
 *     accessKeyId: Config.string("DEPLOY_KEY_ID"),
 *     secretAccessKey: Config.redacted("DEPLOY_SECRET")
 *   })
 * })
 */
export const layerConfig = (
  config: Config.Config.Wrap<CodePipelineConfig> = defaultConfig
): Layer.Layer<CodePipeline, ConfigError.ConfigError> => Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
