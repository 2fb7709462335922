import { Effect, Option } from "effect"
import type { Globals } from "../Global.js"
import { UsageError } from "./errors.js"

/**
 * The source label of this run: `--source`, else `endpoint:<host>` for an endpoint override,
 * else `aws:<account>:<region>` from STS (the same credentials and region the job uses).
 */
export const resolveSource = (g: Globals): Effect.Effect<string, UsageError> => {
  if (Option.isSome(g.source)) {
    const source = g.source.value
    return source.trim() === "" || source.length > 200 || /\p{Cc}/u.test(source)
      ? Effect.fail(
          new UsageError({
            message: `invalid --source ${JSON.stringify(source)}: a label of 1 to 200 characters without control characters`
          })
        )
      : Effect.succeed(source)
  }
  if (Option.isSome(g.endpointUrl)) return Effect.succeed(`endpoint:${new URL(g.endpointUrl.value).host}`)
  // STS is loaded only here, the one place that asks it anything.
  return Effect.acquireUseRelease(
    Effect.promise(() => import("@aws-sdk/client-sts")).pipe(
      Effect.map(({ STSClient, GetCallerIdentityCommand }) => ({
        sts: new STSClient({
          ...Option.match(g.region, { onNone: () => ({}), onSome: (region) => ({ region }) }),
          ...Option.match(g.profile, { onNone: () => ({}), onSome: (profile) => ({ profile }) })
        }),
        GetCallerIdentityCommand
      }))
    ),
    ({ sts: client, GetCallerIdentityCommand }) =>
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
    ({ sts }) => Effect.sync(() => sts.destroy())
  )
}
