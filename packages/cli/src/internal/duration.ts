import { Clock, Effect, Either, Option } from "effect"
import { UsageError } from "./errors.js"

const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** Parses `30s`, `15m`, `12h`, `7d`, `2w` (or combinations like `1h30m`) into milliseconds. */
export const parseDuration = (input: string): Either.Either<number, string> => {
  const parts = [...input.trim().matchAll(/(\d+(?:\.\d+)?)\s*([smhdw])/g)]
  const consumed = parts.map((p) => p[0]).join("")
  if (parts.length === 0 || consumed.replaceAll(" ", "") !== input.trim().replaceAll(" ", "")) {
    return Either.left(
      `invalid duration ${JSON.stringify(input)}: expected a number and a unit (s, m, h, d, w), like 30s, 15m, 12h or 7d`
    )
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0)
  if (!(ms > 0)) return Either.left(`invalid duration ${JSON.stringify(input)}: must be more than zero`)
  return ms <= maxDurationMs
    ? Either.right(ms)
    : Either.left(`invalid duration ${JSON.stringify(input)}: at most 100 years (36500d)`)
}

/** The longest duration any option takes: 100 years. */
const maxDurationMs = 36_500 * units.d!

/** The earliest `--since`: nothing pipetrail stores is older than the Unix epoch. */
const earliest = new Date(0)

/** Parses `--since`: a duration back from `now` (`7d`) or an ISO 8601 date or time. */
export const parseSince = (input: string, now: Date): Either.Either<Date, string> => {
  const date = /^\d{4}-\d{2}-\d{2}/.test(input.trim()) ? new Date(input.trim()) : undefined
  const since: Either.Either<Date, string> =
    date === undefined
      ? Either.mapBoth(parseDuration(input), {
          onLeft: (message) =>
            message.includes("at most")
              ? `invalid --since ${JSON.stringify(input)}: reaches back more than 100 years; give a date (2026-06-01) or a shorter duration`
              : `invalid --since ${JSON.stringify(input)}: expected a duration back from now (7d, 12h, 30m) or an ISO 8601 date (2026-06-01)`,
          onRight: (ms) => new Date(now.getTime() - ms)
        })
      : Number.isNaN(date.getTime())
        ? Either.left(
            `invalid date ${JSON.stringify(input)}: expected ISO 8601 like 2026-06-01 or 2026-06-01T12:00:00Z`
          )
        : Either.right(date)
  return Either.flatMap(since, (date) =>
    date < earliest
      ? Either.left(
          `invalid --since ${JSON.stringify(input)}: reaches before 1970-01-01; give a later date or a shorter duration`
        )
      : Either.right(date)
  )
}

/** The `--since` option of a command: the time it names, read against the Clock, or a usage error. */
export const sinceOption = (since: Option.Option<string>): Effect.Effect<Date | undefined, UsageError> =>
  Option.match(since, {
    onNone: () => Effect.succeed(undefined),
    onSome: (input) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Either.match(parseSince(input, new Date(now)), {
          onLeft: (message) => Effect.fail(new UsageError({ message })),
          onRight: Effect.succeed
        })
      )
  })
