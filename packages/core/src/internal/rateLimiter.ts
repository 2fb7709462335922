import { Clock, Effect, Ref } from "effect"

/** Paces requests at an adaptive rate: it grows while calls succeed and backs off when throttled. */
export interface AdaptiveRateLimiter {
  /** Waits for this request's slot. */
  readonly take: Effect.Effect<void>
  /** Records a successful call (the rate may grow). */
  readonly succeeded: Effect.Effect<void>
  /** Records a throttled call (the rate drops and the ceiling is remembered). */
  readonly throttled: Effect.Effect<void>
  /** The current rate, requests per second. */
  readonly rate: Effect.Effect<number>
}

/** How the limiter starts and where it is bounded. */
export interface RateLimiterOptions {
  readonly initial: number
  readonly min: number
  readonly max: number
}

interface State {
  readonly rate: number
  readonly next: number
  readonly ceiling: number | undefined
  readonly lastDecrease: number
}

/**
 * A pacing limiter (one slot every 1/rate seconds) with AIMD-style adaptation: before the first
 * throttle the rate grows 3% per success (slow start); a throttle halves it (at most once per
 * 250 ms, so one burst of rejections counts once) and remembers 90% of the rate it happened at
 * as a ceiling; below the ceiling the rate recovers quickly, at the ceiling it probes slowly.
 */
export const make = (options: RateLimiterOptions): Effect.Effect<AdaptiveRateLimiter> =>
  Effect.gen(function* () {
    const clamp = (rate: number) => Math.min(options.max, Math.max(options.min, rate))
    const state = yield* Ref.make<State>({
      rate: clamp(options.initial),
      next: 0,
      ceiling: undefined,
      lastDecrease: Number.NEGATIVE_INFINITY
    })
    const take = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Ref.modify(state, (s): [number, State] => {
        const start = Math.max(now, s.next)
        return [start - now, { ...s, next: start + 1000 / s.rate }]
      })
    ).pipe(Effect.flatMap((wait) => (wait > 0 ? Effect.sleep(wait) : Effect.void)))
    const succeeded = Ref.update(state, (s) => {
      const rate =
        s.ceiling === undefined
          ? s.rate * 1.03
          : s.rate < s.ceiling
            ? s.rate + Math.max((s.ceiling - s.rate) * 0.05, 0.01)
            : s.rate * 1.002
      return { ...s, rate: clamp(rate) }
    })
    const throttled = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Ref.modify(state, (s): [number | undefined, State] => {
        if (now - s.lastDecrease < 250) return [undefined, s]
        const rate = clamp(s.rate * 0.5)
        return [rate, { rate, ceiling: s.rate * 0.9, lastDecrease: now, next: Math.max(s.next, now + 1000 / rate) }]
      })
    ).pipe(
      Effect.flatMap((rate) =>
        rate === undefined ? Effect.void : Effect.logDebug(`throttled: request rate lowered to ${rate.toFixed(2)}/s`)
      )
    )
    return { take, succeeded, throttled, rate: Effect.map(Ref.get(state), (s) => s.rate) }
  })
