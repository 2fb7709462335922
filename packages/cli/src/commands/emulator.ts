import { Command, Options } from "@effect/cli"
import type { Emulator } from "@pipetrail/emulator"
import { Console, Effect, Option } from "effect"
import { UsageError } from "../internal/errors.js"
import { loadEmulator } from "../internal/loadEmulator.js"

const fraction = (name: string) => Options.float(name).pipe(Options.withDefault(0))

/** `pipetrail emulator`: the local CodePipeline endpoint in the foreground. */
export const emulator = Command.make(
  "emulator",
  {
    port: Options.integer("port").pipe(Options.withDescription("port (0: any free port)"), Options.withDefault(4599)),
    host: Options.text("host").pipe(Options.withDescription("address to bind"), Options.withDefault("127.0.0.1")),
    seed: Options.integer("seed").pipe(Options.withDescription("scenario seed"), Options.withDefault(1)),
    pipelines: Options.integer("pipelines").pipe(Options.withDefault(3)),
    executions: Options.integer("executions").pipe(
      Options.withDescription("executions per pipeline"),
      Options.withDefault(12)
    ),
    speed: Options.float("speed").pipe(
      Options.withDescription("virtual ms per real ms: executions advance this much faster than real time (0 freezes)"),
      Options.withDefault(1)
    ),
    throttleRate: Options.float("throttle-rate").pipe(
      Options.withDescription("token bucket: requests per second (at least 1: the bucket holds one second of tokens)"),
      Options.optional
    ),
    errorRate: fraction("error-rate").pipe(Options.withDescription("fraction of requests answered 5xx")),
    malformedRate: fraction("malformed-rate").pipe(
      Options.withDescription("fraction of GetPipelineExecution answers malformed")
    ),
    latency: Options.integer("latency").pipe(
      Options.withDescription("added latency per request, ms"),
      Options.withDefault(0)
    )
  },
  (c) =>
    Effect.gen(function* () {
      const options: Emulator.EmulatorOptions = {
        port: c.port,
        host: c.host,
        scenario: { seed: c.seed, pipelines: c.pipelines, executionsPerPipeline: c.executions, now: Date.now() },
        clock: c.speed === 0 ? "manual" : c.speed,
        faults: {
          ...(Option.isSome(c.throttleRate) ? { throttle: { rate: c.throttleRate.value } } : {}),
          serverErrorRate: c.errorRate,
          malformedRate: c.malformedRate,
          ...(c.latency === 0 ? {} : { latency: c.latency })
        }
      }
      const { Emulator: running } = yield* loadEmulator
      // The emulator's own rules, as for its standalone command line.
      const problem = running.optionsProblem(options)
      if (problem !== undefined) return yield* new UsageError({ message: problem })
      const em = yield* running
        .scoped(options)
        .pipe(
          Effect.mapError(
            (e) => new UsageError({ message: `cannot start the emulator on ${e.host}:${e.port}: ${e.message}` })
          )
        )
      yield* Console.log(`CodePipeline emulator listening on ${em.url}`)
      yield* Console.log(
        `pipelines: ${em
          .pipelines()
          .map((p) => p.name)
          .join(", ")}`
      )
      yield* Console.log(
        `try: AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test pipetrail snapshot --endpoint-url ${em.url} --all-pipelines`
      )
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Run the CodePipeline emulator in the foreground (Ctrl-C stops it).\n\nExample: pipetrail emulator --port 4599 --seed 7 --throttle-rate 20 --error-rate 0.05"
  )
)
