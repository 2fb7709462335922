import { Command, ValidationError } from "@effect/cli"
import { CodePipelineError } from "@pipetrail/core"
import { DatabaseError, ReadOnlyQuery } from "@pipetrail/store"
import { Cause, ConfigError, Console, Effect, Exit, Logger, Option } from "effect"
import { actions, approvals } from "./commands/actions.js"
import { db } from "./commands/db.js"
import { demo } from "./commands/demo.js"
import { diff } from "./commands/diff.js"
import { emulator } from "./commands/emulator.js"
import { executions } from "./commands/executions.js"
import { get } from "./commands/get.js"
import { history } from "./commands/history.js"
import { snapshot, watch } from "./commands/snapshot.js"
import { sqlCommand } from "./commands/sql.js"
import { logLevelOf } from "./Global.js"
import { JobPartiallyFailed, UsageError, WatchPartiallyFailed } from "./internal/errors.js"
import { safe, withColourRule } from "./Output.js"

/** The `pipetrail` command tree. */
export const command = Command.make("pipetrail").pipe(
  Command.withDescription("Keep, query and diff the history of AWS CodePipeline executions."),
  Command.withSubcommands([
    get,
    snapshot,
    watch,
    history,
    diff,
    executions,
    actions,
    approvals,
    sqlCommand,
    db,
    emulator,
    demo
  ])
)

/** Exit codes: 0 success, 1 failure, 2 usage error, 3 job finished with some executions failed. */
export const ExitCode = { ok: 0, failure: 1, usage: 2, partial: 3 } as const

/** A hint for the errors whose cause the user can act on. */
const hintOf = (error: unknown): string | undefined =>
  error instanceof CodePipelineError.AccessDeniedError
    ? "check the credentials and that they allow codepipeline:ListPipelines, ListPipelineExecutions and GetPipelineExecution"
    : error instanceof CodePipelineError.ThrottledError
      ? "lower --concurrency or --rate"
      : error instanceof CodePipelineError.NetworkError
        ? "check the endpoint, the network and --region"
        : error instanceof CodePipelineError.PipelineNotFoundError
          ? "check the pipeline name and --region"
          : error instanceof DatabaseError.DatabaseError && DatabaseError.cannotConnect(error)
            ? "check --database-url (or PIPETRAIL_DATABASE_URL) and that the database is reachable"
            : undefined

/** Bad input: exit 2. */
const isUsage = (error: unknown) =>
  error instanceof UsageError ||
  error instanceof CodePipelineError.InvalidInputError ||
  ConfigError.isConfigError(error)

/** The embedded store's own refusals: their message says it all. */
const embeddedStoreCodes = new Set(["STORE_IN_USE", "NOT_A_STORE", "STORE_DAMAGED", "BAD_DATA_DIR"])

const describe = (error: unknown): { readonly code: number; readonly line: string } => {
  if (error instanceof JobPartiallyFailed || error instanceof WatchPartiallyFailed) {
    return { code: ExitCode.partial, line: error.message }
  }
  if (error instanceof ReadOnlyQuery.QueryRefusedError) {
    return { code: ExitCode.usage, line: `query refused: ${error.message}` }
  }
  if (error instanceof DatabaseError.DatabaseError) {
    if (error.code !== undefined && embeddedStoreCodes.has(error.code)) {
      return { code: error.code === "BAD_DATA_DIR" ? ExitCode.usage : ExitCode.failure, line: error.message }
    }
    // The statement ran and failed (division by zero, permission denied, timeout): work was done, exit 1.
    if (error.operation === "read-only query") return { code: ExitCode.failure, line: `query failed: ${error.message}` }
  }
  const message =
    typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
      ? error.message
      : String(error)
  const what = error instanceof DatabaseError.DatabaseError ? `database (${error.operation}): ${message}` : message
  const hint = hintOf(error)
  return {
    code: isUsage(error) ? ExitCode.usage : ExitCode.failure,
    line: `${what}${hint === undefined ? "" : ` (${hint})`}`
  }
}

/**
 * Takes `--log-level X` / `--log-level=X` out of the arguments (the last one wins): pipetrail sets
 * the level itself, so @effect/cli's built-in option never sees it. Fails on a level not listed.
 */
const takeLogLevel = (
  argv: ReadonlyArray<string>
): { readonly rest: ReadonlyArray<string>; readonly level: keyof typeof logLevelOf } | string => {
  const rest: Array<string> = []
  let level: string = "warning"
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") {
      rest.push(...argv.slice(i))
      break
    }
    if (arg === "--log-level" || arg.startsWith("--log-level=")) {
      const value = arg === "--log-level" ? argv[++i] : arg.slice("--log-level=".length)
      if (value === undefined || !Object.hasOwn(logLevelOf, value)) {
        return `invalid --log-level ${JSON.stringify(value ?? "")}: expected one of ${Object.keys(logLevelOf).join(", ")}`
      }
      level = value
      continue
    }
    rest.push(arg)
  }
  return { rest, level: level as keyof typeof logLevelOf }
}

/** pipetrail's version, as `--version` prints it. */
export const version = "0.1.0"

/** Runs the CLI on `argv` (without node and script) and returns the exit code; errors are printed as one line. */
export const run = (argv: ReadonlyArray<string>, debug: boolean) => withColourRule(runArgs(argv, debug))

const runArgs = (argv: ReadonlyArray<string>, debug: boolean) => {
  const parsed = takeLogLevel(argv)
  if (typeof parsed === "string") return Console.error(`pipetrail: ${safe(parsed)}`).pipe(Effect.as(ExitCode.usage))
  // @effect/cli's own --version adds a blank line.
  if (parsed.rest.length === 1 && parsed.rest[0] === "--version")
    return Console.log(version).pipe(Effect.as(ExitCode.ok))
  return Command.run(command, { name: "pipetrail", version })(["node", "pipetrail", ...parsed.rest]).pipe(
    Logger.withMinimumLogLevel(logLevelOf[parsed.level]),
    Effect.exit,
    Effect.flatMap((exit) => {
      if (Exit.isSuccess(exit)) return Effect.succeed(ExitCode.ok)
      if (Cause.isInterruptedOnly(exit.cause)) return Effect.succeed(ExitCode.ok)
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) {
        return Effect.succeed(ValidationError.isHelpRequested(failure.value) ? ExitCode.ok : ExitCode.usage)
      }
      const error = Option.getOrElse(failure, () => Cause.squash(exit.cause))
      const { code, line } = Option.isSome(failure)
        ? describe(failure.value)
        : {
            code: ExitCode.failure,
            line: `unexpected error: ${error instanceof Error ? error.message : String(error)}`
          }
      return Console.error(`pipetrail: ${safe(line)}`).pipe(
        Effect.zipRight(debug ? Console.error(Cause.pretty(exit.cause, { renderErrorCause: true })) : Effect.void),
        Effect.as(code)
      )
    })
  )
}
