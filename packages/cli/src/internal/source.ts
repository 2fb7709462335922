import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts"
import { Effect, Option } from "effect"
import type { Globals } from "../Global.js"
import { UsageError } from "./errors.js"

/**
 * The source label of this run: `--source`, else `endpoint:<host>` for an endpoint override,
 * else `aws:<account>:<region>` from STS (the same credentials and region the job uses).
 */
export const resolveSource = (g: Globals): Effect.Effect<string, UsageError> => {
  if (Option.isSome(g.source)) return Effect.succeed(g.source.value)
  if (Option.isSome(g.endpointUrl)) {
    const endpoint = g.endpointUrl.value
    const host = URL.canParse(endpoint) ? new URL(endpoint).host : endpoint
    return Effect.succeed(`endpoint:${host}`)
  }
  return Effect.acquireUseRelease(
    Effect.sync(
      () =>
        new STSClient({
          ...Option.match(g.region, { onNone: () => ({}), onSome: (region) => ({ region }) }),
          ...Option.match(g.profile, { onNone: () => ({}), onSome: (profile) => ({ profile }) })
        })
    ),
    (client) =>
      Effect.tryPromise({
        try: async (signal) => {
          const identity = await client.send(new GetCallerIdentityCommand({}), { abortSignal: signal })
          const region = await client.config.region()
          return `aws:${identity.Account ?? "unknown"}:${region}`
        },
        catch: (cause) =>
          new UsageError({
            message: `cannot tell which AWS account and region this is (${cause instanceof Error ? cause.message : String(cause)}): configure AWS credentials and region, or name the source with --source`
          })
      }),
    (client) => Effect.sync(() => client.destroy())
  )
}
