import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect } from "effect"
import * as RateLimiter from "../src/internal/rateLimiter.js"

// Invariant of the adaptive limiter, on a virtual clock (no wall time): under a rate limit it is
// not told, it settles near the limit with few throttles. (Under throttling that does not depend
// on the rate it still slides towards its floor: a known weakness, not yet fixed.)

/**
 * A test clock for thousands of requests: virtual time that a sleep advances at once, so a run
 * costs no wall time (the TestClock's scheduler is too slow for this many steps).
 */
const virtualClock = (): Clock.Clock => {
  let now = 0
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    currentTimeMillis: Effect.sync(() => now),
    unsafeCurrentTimeNanos: () => BigInt(now) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
    sleep: (duration) =>
      Effect.sync(() => {
        now += Duration.toMillis(duration)
      })
  }
}

/** Runs `count` requests against a service that says, at each time, whether it throttles. */
const drive = (count: number, throttles: (now: number) => boolean) =>
  Effect.gen(function* () {
    const limiter = yield* RateLimiter.make({ initial: 10, min: 0.2, max: 1000 })
    let throttled = 0
    for (let i = 0; i < count; i++) {
      yield* limiter.take
      const now = yield* Clock.currentTimeMillis
      if (throttles(now)) {
        throttled++
        yield* limiter.throttled
      } else yield* limiter.succeeded
    }
    return { rate: yield* limiter.rate, throttled: throttled / count, elapsed: yield* Clock.currentTimeMillis }
  }).pipe(Effect.withClock(virtualClock()))

/** A token bucket of `rate` per second holding one second of tokens: what a service's rate limit is. */
const bucket = (rate: number) => {
  let tokens = rate
  let last = 0
  return (now: number) => {
    tokens = Math.min(rate, tokens + ((now - last) / 1000) * rate)
    last = now
    if (tokens < 1) return true
    tokens -= 1
    return false
  }
}

describe("adaptive rate limiter (virtual clock)", () => {
  it.effect("settles near a rate limit it is not told, with few throttles", () =>
    Effect.gen(function* () {
      const result = yield* drive(3000, bucket(40))
      assert.isAtLeast(result.rate, 20, JSON.stringify(result))
      assert.isAtMost(result.rate, 60, JSON.stringify(result))
      assert.isBelow(result.throttled, 0.1, JSON.stringify(result))
      // The work took about as long as the limit allows, not many times more.
      assert.isBelow(result.elapsed, (3000 / 40) * 1000 * 1.6, JSON.stringify(result))
    })
  )
})
