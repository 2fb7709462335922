import { assert, describe, it } from "@effect/vitest"
import { CodePipeline } from "@pipetrail/core"
import { Emulator } from "@pipetrail/emulator"
import { Chunk, Config, ConfigProvider, Effect, Layer, Stream } from "effect"

const listAll = Effect.flatMap(CodePipeline.CodePipeline, (service) => Stream.runCollect(service.listPipelines()))

describe("CodePipeline.layerConfig", () => {
  it.scopedLive("reads the caller's own keys, static credentials among them, and reaches the endpoint with them", () =>
    Effect.gen(function* () {
      const emulator = yield* Emulator.scoped({ scenario: { seed: 2, pipelines: 3, executionsPerPipeline: 1 } })
      const keys = new Map([
        ["DEPLOY_REGION", "eu-west-1"],
        ["DEPLOY_ENDPOINT", emulator.url],
        ["DEPLOY_KEY_ID", "AKIDEXAMPLE"],
        ["DEPLOY_SECRET", "never-printed-secret"]
      ])
      const layer = CodePipeline.layerConfig({
        region: Config.string("DEPLOY_REGION"),
        endpoint: Config.string("DEPLOY_ENDPOINT"),
        credentials: Config.all({
          accessKeyId: Config.string("DEPLOY_KEY_ID"),
          secretAccessKey: Config.redacted("DEPLOY_SECRET")
        }),
        maxAttempts: Config.succeed(1)
      })
      const pipelines = yield* listAll.pipe(
        Effect.provide(Layer.provide(layer, Layer.setConfigProvider(ConfigProvider.fromMap(keys))))
      )
      assert.strictEqual(Chunk.size(pipelines), 3)
    })
  )

  it.effect("fails with a ConfigError naming a missing key, and reads the environment's names by default", () =>
    Effect.gen(function* () {
      const missing = yield* Effect.flip(
        Layer.build(CodePipeline.layerConfig({ region: Config.string("DEPLOY_REGION") })).pipe(
          Effect.scoped,
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
        )
      )
      assert.include(String(missing), "DEPLOY_REGION")
      const defaults = yield* Config.unwrap(CodePipeline.defaultConfig).pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromMap(
            new Map([
              ["AWS_REGION", "us-west-2"],
              ["PIPETRAIL_ENDPOINT_URL", "http://127.0.0.1:4566"],
              ["PIPETRAIL_CONCURRENCY", "3"]
            ])
          )
        )
      )
      assert.deepStrictEqual(defaults, { region: "us-west-2", endpoint: "http://127.0.0.1:4566", concurrency: 3 })
      const malformed = yield* Effect.flip(
        Config.unwrap(CodePipeline.defaultConfig).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["PIPETRAIL_CONCURRENCY", "many"]])))
        )
      )
      assert.include(String(malformed), "PIPETRAIL_CONCURRENCY")
    })
  )
})
