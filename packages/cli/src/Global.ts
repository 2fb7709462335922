import { Options } from "@effect/cli"
import type { CodePipeline } from "@pipetrail/core"
import { Database, SnapshotStore } from "@pipetrail/store"
import { Config, Layer, Logger, LogLevel, Option, type Redacted } from "effect"
import type { Format } from "./Output.js"

/** The levels of `--log-level`, and what each lets through. */
export const logLevelOf = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  none: LogLevel.None
} as const

const logLevels = Object.keys(logLevelOf) as Array<keyof typeof logLevelOf>

const isEndpoint = (url: string): boolean => {
  if (!URL.canParse(url)) return false
  const parsed = new URL(url)
  return (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname !== ""
}

/** Options every command takes. */
export const globalOptions = {
  region: Options.text("region").pipe(
    Options.withDescription("AWS region (default: AWS_REGION or the profile's region)"),
    Options.optional
  ),
  profile: Options.text("profile").pipe(
    Options.withDescription("named profile from ~/.aws/config (default: AWS_PROFILE)"),
    Options.optional
  ),
  endpointUrl: Options.text("endpoint-url").pipe(
    Options.withDescription(
      "CodePipeline endpoint: the emulator, LocalStack, a VPC endpoint (env PIPETRAIL_ENDPOINT_URL)"
    ),
    Options.withFallbackConfig(Config.string("PIPETRAIL_ENDPOINT_URL")),
    Options.filterMap(
      (url) => (isEndpoint(url) ? Option.some(url) : Option.none()),
      "--endpoint-url must be an http or https URL with a host, like http://127.0.0.1:4599"
    ),
    Options.optional
  ),
  databaseUrl: Options.redacted("database-url").pipe(
    Options.withDescription("PostgreSQL URL (env PIPETRAIL_DATABASE_URL); without it the embedded store is used"),
    Options.withFallbackConfig(Config.redacted("PIPETRAIL_DATABASE_URL")),
    Options.optional
  ),
  dataDir: Options.text("data-dir").pipe(
    Options.withDescription(
      "directory of the embedded store (env PIPETRAIL_DATA_DIR; default ~/.local/share/pipetrail/pglite)"
    ),
    Options.withFallbackConfig(Config.string("PIPETRAIL_DATA_DIR")),
    Options.optional
  ),
  source: Options.text("source").pipe(
    Options.withDescription(
      "label recorded with every snapshot (env PIPETRAIL_SOURCE; default aws:<account>:<region>)"
    ),
    Options.withFallbackConfig(Config.string("PIPETRAIL_SOURCE")),
    Options.optional
  ),
  output: Options.choice("output", ["table", "json", "csv"]).pipe(
    Options.withAlias("o"),
    Options.withDescription("output format"),
    Options.withDefault("table" as Format)
  ),
  // Read and applied by `Cli.run` before @effect/cli parses (its built-in --log-level would take
  // the value and accept levels pipetrail does not list); declared here for --help.
  logLevel: Options.choice("log-level", logLevels).pipe(
    Options.withDescription("log level (logs go to stderr)"),
    Options.withDefault("warning" as const)
  ),
  logFormat: Options.choice("log-format", ["text", "json"]).pipe(
    Options.withDescription("log format"),
    Options.withDefault("text" as const)
  )
}

/** The parsed global options. */
export interface Globals {
  readonly region: Option.Option<string>
  readonly profile: Option.Option<string>
  readonly endpointUrl: Option.Option<string>
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  readonly dataDir: Option.Option<string>
  readonly source: Option.Option<string>
  readonly output: Format
  readonly logLevel: keyof typeof logLevelOf
  readonly logFormat: "text" | "json"
}

/** Logs to stderr in the chosen format (the level is set by `Cli.run`). */
export const loggerLayer = (g: Pick<Globals, "logFormat">) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.withConsoleError(g.logFormat === "json" ? Logger.jsonLogger : Logger.logfmtLogger)
  )

/** Tuning of the AWS client a job can set. */
export interface AwsTuning {
  readonly concurrency?: number
  /** A fixed request rate: no adaptation. */
  readonly requestsPerSecond?: number
  readonly maxAttempts?: number
}

/** The CodePipeline config from global options. */
export const awsConfig = (g: Globals, tuning: AwsTuning = {}): CodePipeline.CodePipelineConfig => ({
  ...Option.match(g.region, { onNone: () => ({}), onSome: (region) => ({ region }) }),
  ...Option.match(g.profile, { onNone: () => ({}), onSome: (profile) => ({ profile }) }),
  ...Option.match(g.endpointUrl, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
  ...(tuning.concurrency === undefined ? {} : { concurrency: tuning.concurrency }),
  ...(tuning.maxAttempts === undefined ? {} : { maxAttempts: tuning.maxAttempts }),
  ...(tuning.requestsPerSecond === undefined
    ? {}
    : {
        requestsPerSecond: tuning.requestsPerSecond,
        minRequestsPerSecond: tuning.requestsPerSecond,
        maxRequestsPerSecond: tuning.requestsPerSecond
      })
})

/** The database: PostgreSQL when a URL is given, else the embedded PGlite store. */
export const databaseLayer = (g: Globals, options: { readonly migrate?: boolean; readonly amcheck?: boolean } = {}) =>
  Database.layerSelected({ url: g.databaseUrl, dataDir: g.dataDir, ...options })

/** Database and snapshot store. */
export const storeLayer = (g: Globals) => Layer.provideMerge(SnapshotStore.layer, databaseLayer(g))
