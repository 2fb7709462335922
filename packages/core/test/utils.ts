import { CodePipeline, Identifiers } from "@pipetrail/core"
import { Emulator } from "@pipetrail/emulator"
import { Context, Effect, Layer, Redacted } from "effect"

/** Fake static credentials: the emulator accepts and ignores SigV4. */
export const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: Redacted.make("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
}

/** Config pointing the real SDK at an emulator, with fast retries for tests. */
export const configFor = (
  emulator: Emulator.Emulator,
  overrides: CodePipeline.CodePipelineConfig = {}
): CodePipeline.CodePipelineConfig => ({
  region: "us-east-1",
  endpoint: emulator.url,
  credentials,
  requestsPerSecond: 200,
  maxRequestsPerSecond: 1000,
  baseRetryDelay: "5 millis",
  maxRetryDelay: "50 millis",
  ...overrides
})

/** Starts an emulator for the scope and builds a `CodePipeline` service against it. */
export const withEmulator = (options: Emulator.EmulatorOptions = {}, overrides: CodePipeline.CodePipelineConfig = {}) =>
  Effect.gen(function* () {
    const emulator = yield* Emulator.scoped(options)
    const context = yield* Layer.build(CodePipeline.layer(configFor(emulator, overrides)))
    const service = Context.get(context, CodePipeline.CodePipeline)
    return { emulator, service }
  })

/** A pipeline name or execution id, branded as the service takes them (checked: a bad one throws). */
export const pipelineName = (name: string) => Identifiers.PipelineName.make(name)
export const executionId = (id: string) => Identifiers.PipelineExecutionId.make(id)
