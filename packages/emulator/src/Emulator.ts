// Longer than most files here (~530 lines), on purpose: `start` is one HTTP server whose handlers
// share the clock, the token bucket, the fault draws and the statistics of one emulator; the wire
// format (internal/wire.ts), the scenario (Scenario.ts) and the random source are their own files.
import { randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Data, Effect, type Scope } from "effect"
import { Random } from "./internal/random.js"
import {
  AwsError,
  actionDetail,
  decodeToken,
  encodeToken,
  executionDetail,
  executionIdRules,
  executionSummary,
  filterExecutionIdRules,
  nextTokenRules,
  pipelineNameRules,
  pipelineSummary,
  requireInt,
  requireString,
  stageNameRules
} from "./internal/wire.js"
import {
  actionPlan,
  type EmulatedExecution,
  type EmulatedPipeline,
  generate,
  generateExecution,
  type ScenarioOptions,
  stateAt
} from "./Scenario.js"

/** The operations the emulator serves. */
export type Operation =
  | "GetPipelineExecution"
  | "ListPipelineExecutions"
  | "ListActionExecutions"
  | "ListPipelines"
  | "GetPipeline"

const operations: ReadonlySet<string> = new Set([
  "GetPipelineExecution",
  "ListPipelineExecutions",
  "ListActionExecutions",
  "ListPipelines",
  "GetPipeline"
])

/** Faults to inject; every random choice comes from the seeded PRNG. */
export interface Faults {
  /** Token bucket over all requests: `rate` tokens per second, `burst` capacity (default = rate). */
  readonly throttle?: { readonly rate: number; readonly burst?: number }
  /** Fraction of requests answered `ThrottlingException` regardless of the bucket. */
  readonly throttleRate?: number
  /** Fraction of requests answered with a 500 `InternalFailure` or 503 `ServiceUnavailableException`. */
  readonly serverErrorRate?: number
  /** Fraction of requests whose connection is destroyed without an answer. */
  readonly dropConnectionRate?: number
  /** Added latency per request, ms: fixed, or uniformly drawn from `[min, max]`. */
  readonly latency?: number | { readonly min: number; readonly max: number }
  /** Fraction of successful answers returned malformed (unknown enum, missing field, wrong type). */
  readonly malformedRate?: number
  /**
   * Fraction of `GetPipelineExecution` answers about something else: another execution of the
   * pipeline (or an unknown id), or the right id under another pipeline's name, as a faulty proxy
   * or cache would answer. `ListActionExecutions` filtered by execution answers, at the same rate,
   * with an action of another execution among them.
   */
  readonly mismatchRate?: number
  /**
   * Fraction of successful answers whose body the SDK itself cannot read, sent with status 200:
   * a proxy's HTML page, a truncated body, a body that is not JSON, or a timestamp sent as a string.
   */
  readonly malformedBodyRate?: number
  /** Which operations may be malformed (default: GetPipelineExecution). */
  readonly malformedOperations?: ReadonlyArray<Operation>
  /** Answer every request with this error (`AccessDeniedException`, `ExpiredTokenException`…). */
  readonly forceError?: { readonly type: string; readonly status: number; readonly message?: string }
}

/** Bodies with status 200 that no JSON reader accepts as the operation's answer. */
const brokenBodies: ReadonlyArray<
  (output: Record<string, unknown>) => { readonly type: string; readonly text: string }
> = [
  () => ({
    type: "text/html",
    text: "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\r\n"
  }),
  (output) => {
    const text = JSON.stringify(output)
    return { type: "application/x-amz-json-1.1", text: text.slice(0, Math.max(1, Math.floor(text.length / 2))) }
  },
  () => ({ type: "text/plain", text: "upstream connect error or disconnect/reset before headers" }),
  (output) => ({
    type: "application/x-amz-json-1.1",
    // Every epoch-seconds timestamp sent as an ISO string (the SDK expects a number), and the
    // version as a string, so an answer without timestamps is broken too.
    text: JSON.stringify(output, (key, value) =>
      ["created", "startTime", "lastUpdateTime"].includes(key) && typeof value === "number"
        ? new Date(value * 1000).toISOString()
        : key === "pipelineVersion"
          ? String(value)
          : value
    )
  })
]

/** How to start an emulator. */
export interface EmulatorOptions {
  /** Port to bind (default 0: an ephemeral port). */
  readonly port?: number
  /** Address to bind (default 127.0.0.1: loopback only). */
  readonly host?: string
  /** The generated world (default: 3 pipelines × 12 executions, seed 1); `false` for an empty one. */
  readonly scenario?: ScenarioOptions | false
  /** Faults to inject. */
  readonly faults?: Faults
  /** Seed of the fault PRNG (default: the scenario seed, or 1). */
  readonly faultSeed?: number
  /** `manual` (default): time moves only by `advance`; a number: virtual ms per real ms. */
  readonly clock?: "manual" | number
}

/** What the emulator has seen. */
export interface Stats {
  /** Requests received per operation, including those answered with an error. */
  readonly requests: Record<string, number>
  /** Requests answered `ThrottlingException`. */
  readonly throttled: number
  /** Requests answered 5xx. */
  readonly serverErrors: number
  /** Connections destroyed on purpose. */
  readonly dropped: number
  /** Answers sent malformed. */
  readonly malformed: number
  /** `GetPipelineExecution` answers sent about another execution or pipeline. */
  readonly mismatched: number
  /** Answers sent with a body the SDK cannot read. */
  readonly malformedBodies: number
}

/** A running emulator. */
export interface Emulator {
  /** The endpoint URL to give the SDK (`http://127.0.0.1:PORT`). */
  readonly url: string
  readonly port: number
  /** The current virtual time, epoch ms. */
  readonly now: () => number
  /** Moves the clock forward; executions advance through their statuses. */
  readonly advance: (ms: number) => void
  readonly pipelines: () => ReadonlyArray<EmulatedPipeline>
  readonly executions: () => ReadonlyArray<EmulatedExecution>
  readonly addPipeline: (pipeline: EmulatedPipeline) => void
  readonly addExecution: (execution: EmulatedExecution) => void
  /** Starts a new generated execution of `pipelineName` at the current time. */
  readonly startExecution: (pipelineName: string) => EmulatedExecution
  readonly setFaults: (faults: Faults) => void
  readonly stats: () => Stats
  readonly resetStats: () => void
  readonly close: () => Promise<void>
}

const emptyStats = (): Stats => ({
  requests: {},
  throttled: 0,
  serverErrors: 0,
  dropped: 0,
  malformed: 0,
  mismatched: 0,
  malformedBodies: 0
})

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const malformations: ReadonlyArray<(payload: Record<string, unknown>, random: Random) => void> = [
  (payload) => {
    payload.status = "Paused"
  },
  (payload) => {
    payload.trigger = { triggerType: "ScheduledTrigger", triggerDetail: "cron(0 12 * * ? *)" }
  },
  (payload) => {
    delete payload.pipelineExecutionId
  },
  (payload) => {
    payload.pipelineVersion = "seven"
  },
  (payload) => {
    payload.artifactRevisions = "not-a-list"
  },
  (payload, random) => {
    delete payload[random.pick(["status", "pipelineName"])]
  }
]

/** Why these faults cannot work (a bucket that never grants a token, a rate outside 0–1), if they cannot. */
export const faultsProblem = (faults: Faults): string | undefined => {
  const throttle = faults.throttle
  if (throttle !== undefined) {
    if (!(throttle.rate > 0 && Number.isFinite(throttle.rate))) {
      return `the throttle rate must be more than 0 requests per second, got ${throttle.rate}`
    }
    if (!((throttle.burst ?? throttle.rate) >= 1)) {
      return `the throttle bucket must hold at least 1 token (a rate below 1 needs a burst of 1 or more), got ${throttle.burst ?? throttle.rate}`
    }
  }
  for (const [name, rate] of [
    ["throttleRate", faults.throttleRate],
    ["serverErrorRate", faults.serverErrorRate],
    ["dropConnectionRate", faults.dropConnectionRate],
    ["malformedRate", faults.malformedRate],
    ["mismatchRate", faults.mismatchRate],
    ["malformedBodyRate", faults.malformedBodyRate]
  ] as const) {
    if (rate !== undefined && !(rate >= 0 && rate <= 1)) return `${name} must be between 0 and 1, got ${rate}`
  }
  return undefined
}

/**
 * Why these options cannot work, if they cannot: the port, the clock's speed, the scenario's sizes
 * and the faults (`faultsProblem`). Every command line that starts an emulator relies on this.
 */
export const optionsProblem = (options: EmulatorOptions): string | undefined => {
  const { port, clock } = options
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    return `the port must be an integer from 0 to 65535, got ${port}`
  }
  if (typeof clock === "number" && !(clock > 0 && Number.isFinite(clock))) {
    return `the clock's speed must be more than 0 (or a manual clock), got ${clock}`
  }
  const scenario = options.scenario === false ? {} : (options.scenario ?? {})
  for (const [name, value, max] of [
    ["pipelines", scenario.pipelines, 10_000],
    ["executions per pipeline", scenario.executionsPerPipeline, 100_000]
  ] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value <= max)) {
      return `${name} must be an integer from 0 to ${max}, got ${value}`
    }
  }
  const latency = options.faults?.latency
  if (typeof latency === "number" && !(latency >= 0 && Number.isFinite(latency))) {
    return `the latency must be 0 ms or more, got ${latency}`
  }
  return faultsProblem(options.faults ?? {})
}

/** Starts an emulator; rejects with a `RangeError` when its options cannot work (see `optionsProblem`). */
export const start = async (options: EmulatorOptions = {}): Promise<Emulator> => {
  const problem = optionsProblem(options)
  if (problem !== undefined) throw new RangeError(problem)
  const scenarioOptions = options.scenario === false ? { pipelines: 0 } : (options.scenario ?? {})
  const world = generate(scenarioOptions)
  const random = new Random(options.faultSeed ?? scenarioOptions.seed ?? 1)
  const generator = new Random((scenarioOptions.seed ?? 1) ^ 0x5eed)
  const pipelines = new Map(world.pipelines.map((p) => [p.name, p]))
  const executions = new Map<string, Array<EmulatedExecution>>(world.pipelines.map((p) => [p.name, []]))
  const byId = new Map<string, EmulatedExecution>()
  const addExecution = (execution: EmulatedExecution) => {
    const list = executions.get(execution.pipelineName) ?? []
    list.push(execution)
    list.sort((a, b) => b.startTime - a.startTime || (a.pipelineExecutionId < b.pipelineExecutionId ? 1 : -1))
    executions.set(execution.pipelineName, list)
    byId.set(`${execution.pipelineName}/${execution.pipelineExecutionId}`, execution)
  }
  world.executions.forEach(addExecution)

  let faults: Faults = options.faults ?? {}
  let stats = emptyStats()
  let virtual = world.now
  const realStart = Date.now()
  const now = () => (typeof options.clock === "number" ? virtual + (Date.now() - realStart) * options.clock : virtual)
  let bucket = { tokens: faults.throttle?.burst ?? faults.throttle?.rate ?? 0, at: Date.now() }

  const takeToken = (): boolean => {
    const throttle = faults.throttle
    if (throttle === undefined) return true
    const capacity = throttle.burst ?? throttle.rate
    const t = Date.now()
    bucket = { tokens: Math.min(capacity, bucket.tokens + ((t - bucket.at) / 1000) * throttle.rate), at: t }
    if (bucket.tokens < 1) return false
    bucket = { ...bucket, tokens: bucket.tokens - 1 }
    return true
  }

  /** Each execution's action plan, made once. */
  const plans = new Map<EmulatedExecution, ReadonlyArray<ReturnType<typeof actionPlan>[number]>>()
  const actionsOf = (execution: EmulatedExecution) => {
    let plan = plans.get(execution)
    if (plan === undefined) {
      plan = actionPlan(execution)
      plans.set(execution, plan)
    }
    return plan
  }

  const visible = (pipelineName: string) => (executions.get(pipelineName) ?? []).filter((e) => e.startTime <= now())

  const requirePipeline = (name: string) => {
    const pipeline = pipelines.get(name)
    if (pipeline === undefined) {
      throw new AwsError(
        400,
        "PipelineNotFoundException",
        `The account with id '123456789012' does not include a pipeline with the name '${name}'`
      )
    }
    return pipeline
  }

  const handle = (operation: Operation, input: Record<string, unknown>): Record<string, unknown> => {
    switch (operation) {
      case "GetPipelineExecution": {
        const name = requireString(input, "pipelineName", pipelineNameRules)!
        const id = requireString(input, "pipelineExecutionId", executionIdRules)!
        requirePipeline(name)
        const execution = byId.get(`${name}/${id}`)
        if (execution === undefined || execution.startTime > now()) {
          throw new AwsError(
            400,
            "PipelineExecutionNotFoundException",
            `Pipeline execution with id '${id}' does not exist in pipeline with name '${name}'`
          )
        }
        return { pipelineExecution: executionDetail(execution, now()) }
      }
      case "ListPipelineExecutions": {
        const name = requireString(input, "pipelineName", pipelineNameRules)!
        const max = requireInt(input, "maxResults", 1, 100) ?? 100
        const token = requireString(input, "nextToken", nextTokenRules)
        const filter = input.filter as { succeededInStage?: Record<string, unknown> } | undefined
        if (filter?.succeededInStage !== undefined) requireString(filter.succeededInStage, "stageName", stageNameRules)
        requirePipeline(name)
        const all = visible(name).filter(
          (e) => filter?.succeededInStage === undefined || stateAt(e, now()).step.status === "Succeeded"
        )
        let start = 0
        if (token !== undefined) {
          const cursor = decodeToken(token, "executions")
          if (cursor.p !== name) throw new AwsError(400, "InvalidNextTokenException", "The next token is not valid")
          const index = all.findIndex((e) => e.pipelineExecutionId === cursor.after)
          start =
            index >= 0
              ? index + 1
              : all.findIndex((e) => e.startTime < (cursor.t as number)) === -1
                ? all.length
                : all.findIndex((e) => e.startTime < (cursor.t as number))
        }
        const page = all.slice(start, start + max)
        const last = page[page.length - 1]
        const more = start + max < all.length && last !== undefined
        return {
          pipelineExecutionSummaries: page.map((e) => executionSummary(e, now())),
          ...(more
            ? {
                nextToken: encodeToken({ k: "executions", p: name, after: last.pipelineExecutionId, t: last.startTime })
              }
            : {})
        }
      }
      case "ListActionExecutions": {
        const name = requireString(input, "pipelineName", pipelineNameRules)!
        const max = requireInt(input, "maxResults", 1, 100) ?? 100
        const token = requireString(input, "nextToken", nextTokenRules)
        const filter = (input.filter ?? {}) as Record<string, unknown>
        const id = requireString(filter, "pipelineExecutionId", filterExecutionIdRules)
        requirePipeline(name)
        const of = id === undefined ? visible(name) : [byId.get(`${name}/${id}`)].filter((e) => e !== undefined)
        if (id !== undefined && (of.length === 0 || of[0]!.startTime > now())) {
          throw new AwsError(
            400,
            "PipelineExecutionNotFoundException",
            `Pipeline execution with id '${id}' does not exist in pipeline with name '${name}'`
          )
        }
        // Newest first (start time, then id): a cursor after the last item stays valid as new actions start.
        const all = of
          .flatMap((e) =>
            actionsOf(e)
              .filter((a) => a.start <= now())
              .map((action) => ({ execution: e, action }))
          )
          .sort(
            (a, b) =>
              b.action.start - a.action.start || (a.action.actionExecutionId < b.action.actionExecutionId ? -1 : 1)
          )
        let start = 0
        if (token !== undefined) {
          const cursor = decodeToken(token, "actions")
          if (cursor.p !== name || cursor.e !== (id ?? "")) {
            throw new AwsError(400, "InvalidNextTokenException", "The next token is not valid")
          }
          const after = all.findIndex(
            (a) =>
              a.action.start < (cursor.t as number) ||
              (a.action.start === cursor.t && a.action.actionExecutionId > String(cursor.a))
          )
          start = after === -1 ? all.length : after
        }
        const page = all.slice(start, start + max)
        const last = page[page.length - 1]
        return {
          actionExecutionDetails: page.map((a) => actionDetail(a.execution, a.action, now())),
          ...(start + max < all.length && last !== undefined
            ? {
                nextToken: encodeToken({
                  k: "actions",
                  p: name,
                  e: id ?? "",
                  t: last.action.start,
                  a: last.action.actionExecutionId
                })
              }
            : {})
        }
      }
      case "ListPipelines": {
        const max = requireInt(input, "maxResults", 1, 1000) ?? 1000
        const token = requireString(input, "nextToken", nextTokenRules)
        const all = [...pipelines.values()].sort((a, b) => (a.name < b.name ? -1 : 1))
        const start = token === undefined ? 0 : Number(decodeToken(token, "pipelines").o)
        const page = all.slice(start, start + max)
        return {
          pipelines: page.map(pipelineSummary),
          ...(start + max < all.length ? { nextToken: encodeToken({ k: "pipelines", o: start + max }) } : {})
        }
      }
      case "GetPipeline": {
        const name = requireString(input, "name", pipelineNameRules)!
        const pipeline = requirePipeline(name)
        return {
          pipeline: {
            name: pipeline.name,
            version: pipeline.version,
            pipelineType: pipeline.pipelineType,
            executionMode: pipeline.executionMode,
            stages: []
          },
          metadata: {
            pipelineArn: `arn:aws:codepipeline:us-east-1:123456789012:${pipeline.name}`,
            created: pipeline.created / 1000,
            updated: pipeline.updated / 1000
          }
        }
      }
    }
  }

  const send = (res: ServerResponse, status: number, body: unknown, requestId: string) => {
    const text = JSON.stringify(body)
    res.writeHead(status, {
      "content-type": "application/x-amz-json-1.1",
      "content-length": Buffer.byteLength(text),
      "x-amzn-requestid": requestId
    })
    res.end(text)
  }

  const sendRaw = (res: ServerResponse, body: { readonly type: string; readonly text: string }, requestId: string) => {
    res.writeHead(200, {
      "content-type": body.type,
      "content-length": Buffer.byteLength(body.text),
      "x-amzn-requestid": requestId
    })
    res.end(body.text)
  }

  const sendError = (res: ServerResponse, error: AwsError, requestId: string) =>
    send(res, error.status, { __type: error.type, message: error.message }, requestId)

  const count = (key: keyof Omit<Stats, "requests">) => {
    stats = { ...stats, [key]: stats[key] + 1 }
  }

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID()
    const body = await readBody(req)
    const target = req.headers["x-amz-target"]
    const operation = typeof target === "string" ? target.replace(/^CodePipeline_20150709\./, "") : ""
    stats = { ...stats, requests: { ...stats.requests, [operation]: (stats.requests[operation] ?? 0) + 1 } }
    const latency = faults.latency
    const delay =
      latency === undefined ? 0 : typeof latency === "number" ? latency : random.int(latency.min, latency.max)
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
    if (
      req.method !== "POST" ||
      typeof target !== "string" ||
      !target.startsWith("CodePipeline_20150709.") ||
      !operations.has(operation)
    ) {
      return sendError(
        res,
        new AwsError(400, "UnknownOperationException", `Unknown operation ${String(target)}`),
        requestId
      )
    }
    if (faults.forceError !== undefined) {
      const { type, status, message } = faults.forceError
      return sendError(res, new AwsError(status, type, message ?? `${type} (injected)`), requestId)
    }
    if (random.chance(faults.dropConnectionRate ?? 0)) {
      count("dropped")
      req.socket.destroy()
      return
    }
    if (!takeToken() || random.chance(faults.throttleRate ?? 0)) {
      count("throttled")
      return sendError(res, new AwsError(400, "ThrottlingException", "Rate exceeded"), requestId)
    }
    if (random.chance(faults.serverErrorRate ?? 0)) {
      count("serverErrors")
      return random.chance(0.5)
        ? sendError(
            res,
            new AwsError(500, "InternalFailure", "We encountered an internal error. Please try again."),
            requestId
          )
        : sendError(res, new AwsError(503, "ServiceUnavailableException", "Service is unavailable"), requestId)
    }
    let input: Record<string, unknown>
    try {
      const parsed: unknown = body.length === 0 ? {} : JSON.parse(body)
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object")
      input = parsed as Record<string, unknown>
    } catch {
      return sendError(res, new AwsError(400, "SerializationException", "Request body is not a JSON object"), requestId)
    }
    try {
      const output = handle(operation as Operation, input)
      const mayMalform = (faults.malformedOperations ?? ["GetPipelineExecution"]).includes(operation as Operation)
      if (mayMalform && random.chance(faults.malformedRate ?? 0)) {
        count("malformed")
        const target =
          operation === "GetPipelineExecution"
            ? (output.pipelineExecution as Record<string, unknown>)
            : ((output.pipelineExecutionSummaries as Array<Record<string, unknown>> | undefined)?.[0] ??
              (output.actionExecutionDetails as Array<Record<string, unknown>> | undefined)?.[0] ??
              (output.pipelines as Array<Record<string, unknown>> | undefined)?.[0])
        if (target !== undefined) random.pick(malformations)(target, random)
      }
      if (mayMalform && random.chance(faults.malformedBodyRate ?? 0)) {
        count("malformedBodies")
        return sendRaw(res, random.pick(brokenBodies)(output), requestId)
      }
      if (operation === "GetPipelineExecution" && random.chance(faults.mismatchRate ?? 0)) {
        count("mismatched")
        const asked = output.pipelineExecution as Record<string, unknown>
        const others = (executions.get(String(asked.pipelineName)) ?? []).filter(
          (e) => e.pipelineExecutionId !== asked.pipelineExecutionId
        )
        output.pipelineExecution = random.chance(0.25)
          ? { ...asked, pipelineName: `${String(asked.pipelineName)}-other` }
          : others.length > 0
            ? handle("GetPipelineExecution", {
                pipelineName: asked.pipelineName,
                pipelineExecutionId: random.pick(others).pipelineExecutionId
              }).pipelineExecution
            : { ...asked, pipelineExecutionId: "00000000-0000-4000-8000-000000000000" }
      }
      const details = output.actionExecutionDetails as Array<Record<string, unknown>> | undefined
      const filtered = (input.filter as { pipelineExecutionId?: unknown } | undefined)?.pipelineExecutionId
      if (
        operation === "ListActionExecutions" &&
        filtered !== undefined &&
        details !== undefined &&
        details.length > 0 &&
        random.chance(faults.mismatchRate ?? 0)
      ) {
        count("mismatched")
        const others = (executions.get(String(input.pipelineName)) ?? []).filter(
          (e) => e.pipelineExecutionId !== filtered
        )
        const other =
          others.length > 0 ? random.pick(others).pipelineExecutionId : "00000000-0000-4000-8000-000000000000"
        details[random.int(0, details.length - 1)]!.pipelineExecutionId = other
      }
      return send(res, 200, output, requestId)
    } catch (error) {
      if (error instanceof AwsError) return sendError(res, error, requestId)
      return sendError(res, new AwsError(500, "InternalFailure", String(error)), requestId)
    }
  }

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch(() => res.destroy())
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve())
  })
  const address = server.address() as AddressInfo
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    now,
    advance: (ms) => {
      virtual += ms
    },
    pipelines: () => [...pipelines.values()],
    executions: () => [...executions.values()].flat(),
    addPipeline: (pipeline) => {
      pipelines.set(pipeline.name, pipeline)
      if (!executions.has(pipeline.name)) executions.set(pipeline.name, [])
    },
    addExecution,
    startExecution: (pipelineName) => {
      const pipeline = pipelines.get(pipelineName)
      if (pipeline === undefined) throw new Error(`no pipeline named ${pipelineName}`)
      const execution = generateExecution(generator, pipeline, now(), executions.get(pipelineName) ?? [])
      addExecution(execution)
      return execution
    },
    setFaults: (next) => {
      faults = next
      bucket = { tokens: next.throttle?.burst ?? next.throttle?.rate ?? 0, at: Date.now() }
    },
    stats: () => stats,
    resetStats: () => {
      stats = emptyStats()
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

/** The emulator could not start (the port is taken, the host cannot be bound). */
export class EmulatorStartError extends Data.TaggedError("EmulatorStartError")<{
  readonly host: string
  readonly port: number
  readonly message: string
}> {}

/** An emulator for the life of a scope (Effect tests and programs); fails when it cannot bind. */
export const scoped = (options: EmulatorOptions = {}): Effect.Effect<Emulator, EmulatorStartError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => start(options),
      catch: (cause) =>
        new EmulatorStartError({
          host: options.host ?? "127.0.0.1",
          port: options.port ?? 0,
          message: cause instanceof Error ? cause.message : String(cause)
        })
    }),
    (emulator) => Effect.promise(() => emulator.close())
  )
