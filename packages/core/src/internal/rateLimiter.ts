import { Clock, Effect } from "effect"

/**
 * Which pacing level a request was sent at. Outcomes are judged against the level they were sent
 * at: a request in flight when the rate changed says nothing about the new rate.
 */
export type Ticket = number

/** Paces requests at an adaptive rate: it grows while calls succeed and backs off when throttled. */
export interface AdaptiveRateLimiter {
  /** Waits for this request's slot; the ticket goes back with its outcome. */
  readonly take: Effect.Effect<Ticket>
  /** Records a successful call (the rate may grow). */
  readonly succeeded: (ticket: Ticket) => Effect.Effect<void>
  /** Records a throttled call (the rate may drop). */
  readonly throttled: (ticket: Ticket) => Effect.Effect<void>
  /** The current rate, requests per second. */
  readonly rate: Effect.Effect<number>
}

/** How the limiter starts and where it is bounded. */
export interface RateLimiterOptions {
  readonly initial: number
  readonly min: number
  readonly max: number
}

/** How many outcomes at one rate a judgement needs. */
const window = 40

/** How many outcomes the background estimate remembers. */
const noiseMemory = 400

/** A throttle count over `n` outcomes, and the pace they came at (outcomes per second). */
interface Sample {
  readonly n: number
  readonly throttled: number
  readonly perSecond: number
}

const fraction = (s: Sample) => (s.n === 0 ? 0 : s.throttled / s.n)

/** 1.5 standard errors of a throttle fraction `p` measured over `n` outcomes. */
const margin = (p: number, n: number) => 1.5 * Math.sqrt((p * (1 - p)) / Math.max(n, 1))

/** Whether two samples throttle alike: neither fraction is clearly above the other. */
const alike = (before: Sample, after: Sample) => {
  const pooled = (before.throttled + after.throttled) / (before.n + after.n)
  const spread = 2 * Math.sqrt(pooled * (1 - pooled) * (1 / before.n + 1 / after.n))
  return Math.abs(fraction(after) - fraction(before)) <= spread
}

interface Level {
  readonly rate: number
  readonly ceiling: number | undefined
  readonly sample: Sample
}

/**
 * A pacing limiter (one slot every 1/rate seconds) with AIMD-style adaptation that tells a rate
 * limit from throttling that does not depend on the rate.
 *
 * - Growth: before the first throttle the rate grows 3% per success (slow start); below the
 *   remembered ceiling it recovers quickly, at the ceiling it probes slowly.
 * - A throttle halves the rate and remembers 90% of the old rate as the ceiling; the next
 *   `window` outcomes at the new rate, held still, test that decision. Below a rate limit the
 *   throttled share falls (or it was so high, over half, that halving needs no test), and the
 *   halving stays. If the share did not change, the throttling does not depend on the rate (a
 *   service refusing 30% of calls at any pace): the rate goes back to 90% of what it was, and
 *   the lower rate's sample joins the background estimate.
 * - With a background known, a throttle counts only when the last `window` outcomes are clearly
 *   above it; that is confirmed on a fresh sample and, since the confirming sample was chosen
 *   for looking bad, the halving is judged against one more taken without choosing. A halving
 *   that brings throttling clearly under the background resets it, so a rate limit hidden under
 *   noise is still found.
 */
export const make = (options: RateLimiterOptions): Effect.Effect<AdaptiveRateLimiter> =>
  Effect.sync(() => {
    const clamp = (rate: number) => Math.min(options.max, Math.max(options.min, rate))
    let rate = clamp(options.initial)
    let ceiling: number | undefined
    let next = 0
    /** Changes whenever the rate is decided; outcomes of other tickets are not evidence. */
    let ticket = 0
    /** The last `window` outcomes at the current level (true: throttled), and when each came. */
    let recent: Array<boolean> = []
    let times: Array<number> = []
    /**
     * What the limiter is doing: adapting freely, confirming on a fresh sample that throttling
     * rose above the background, or testing its last halving. The rate holds still unless free,
     * so each sample measures one rate.
     */
    let phase:
      | { readonly _tag: "Free" }
      | { readonly _tag: "Confirming" }
      | { readonly _tag: "Measuring" }
      | { readonly _tag: "Testing"; readonly before: Level } = { _tag: "Free" }
    /**
     * The throttling that does not depend on the rate, as far as it is known: the samples of the
     * halvings that made no difference, pooled (the last few hundred outcomes' worth).
     */
    let noise: Sample = { n: 0, throttled: 0, perSecond: 0 }
    const background = () => fraction(noise)

    /** The sample of the current level's last `window` outcomes. */
    const current = (): Sample => ({
      n: recent.length,
      throttled: recent.filter((t) => t).length,
      perSecond: times.length < 2 ? 0 : ((times.length - 1) * 1000) / Math.max(1, times.at(-1)! - times[0]!)
    })
    const record = (now: number, throttled: boolean) => {
      recent.push(throttled)
      times.push(now)
      if (recent.length > window) {
        recent.shift()
        times.shift()
      }
    }
    const newLevel = () => {
      ticket++
      recent = []
      times = []
    }
    const aboveBackground = (sample: Sample) => fraction(sample) > background() + margin(background(), sample.n)

    const halve = (now: number): string => {
      const sample = current()
      // When something else bounds the pace (concurrency, latency), the rate is a number never
      // reached: halve the pace the requests really went at.
      const paced = sample.n >= 10 && sample.perSecond > 0 ? Math.min(rate, sample.perSecond) : rate
      phase = { _tag: "Testing", before: { rate: paced, ceiling, sample } }
      ceiling = paced * 0.9
      rate = clamp(paced * 0.5)
      next = Math.max(next, now + 1000 / rate)
      newLevel()
      return `throttled: request rate lowered to ${rate.toFixed(2)}/s`
    }

    /** The test of the last halving ends: keep it, or take it back as noise. */
    const judge = (before: Level): string => {
      const after = current()
      phase = { _tag: "Free" }
      // A throttle or two at the lower rate is a limit's edge (bursts of concurrent requests)
      // rather than noise: plain halving handles it.
      const keep =
        fraction(after) < 0.05 ||
        fraction(before.sample) >= Math.max(0.5, background() + 0.25) ||
        before.sample.n < 10 ||
        // Requests were bound by something else (concurrency, latency), so halving the rate did
        // not halve the pace: the two samples say nothing about the rate.
        after.perSecond > before.sample.perSecond * 0.75 ||
        !alike(before.sample, after)
      if (keep) {
        // Throttling clearly below the background at the lower rate: the background was a limit.
        if (fraction(after) + margin(fraction(after), after.n) < background()) noise = after
        return `rate limiter: kept ${rate.toFixed(2)}/s`
      }
      // Only the lower rate's sample joins the background: the higher rate's may hold some
      // throttling that its rate caused, and pooling it would let the background creep up.
      const keptShare = Math.min(1, noiseMemory / (noise.n + after.n))
      noise = {
        n: (noise.n + after.n) * keptShare,
        throttled: (noise.throttled + after.throttled) * keptShare,
        perSecond: after.perSecond
      }
      // Most of the throttling is background, but the window that started this was above it:
      // back to a little below the old rate, under the ceiling of the last limit found (if any).
      rate = clamp(before.rate * 0.9)
      ceiling = before.ceiling
      newLevel()
      return `rate limiter: throttling of ${(background() * 100).toFixed(0)}% does not depend on the rate, back to ${rate.toFixed(2)}/s`
    }

    /** What one outcome at the current level changes; a message when the rate was decided. */
    const decide = (now: number, throttled: boolean): string | undefined => {
      record(now, throttled)
      switch (phase._tag) {
        case "Testing":
          return recent.length >= window ? judge(phase.before) : undefined
        case "Confirming":
          if (recent.length < window) return undefined
          if (aboveBackground(current())) {
            // Confirmed, but this sample was chosen for looking bad: the halving is judged
            // against one more, taken without choosing.
            phase = { _tag: "Measuring" }
            newLevel()
          } else phase = { _tag: "Free" }
          return undefined
        case "Measuring":
          return recent.length < window ? undefined : halve(now)
        case "Free":
          if (!throttled) return undefined
          // Without known background noise any throttle counts (the limit is found fast); with
          // it, a window above the background starts a confirmation on a fresh sample, so the
          // halving is not judged against the very window that happened to look bad.
          if (background() === 0) return halve(now)
          if (recent.length < window || !aboveBackground(current())) return undefined
          phase = { _tag: "Confirming" }
          newLevel()
          return undefined
      }
    }

    const take = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.suspend(() => {
        const start = Math.max(now, next)
        next = start + 1000 / rate
        const mine = ticket
        return start > now ? Effect.as(Effect.sleep(start - now), mine) : Effect.succeed(mine)
      })
    )

    const outcome = (sent: Ticket, throttled: boolean): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.suspend(() => {
          // Successes grow the rate, except while a sample must measure one rate. A halving on test
          // that was measured from a full sample may recover up to three quarters of the pace it
          // halved: still a clearly lower pace, so the test holds.
          const testing = phase._tag === "Testing" ? phase.before : undefined
          if (!throttled && (phase._tag === "Free" || (testing !== undefined && testing.sample.n >= window))) {
            const grown = clamp(
              ceiling === undefined
                ? rate * 1.03
                : rate < ceiling
                  ? rate + Math.max((ceiling - rate) * 0.05, 0.01)
                  : rate * 1.002
            )
            rate = testing === undefined ? grown : Math.max(rate, Math.min(grown, testing.rate * 0.75))
          }
          if (sent !== ticket) return Effect.void
          const decided = decide(now, throttled)
          return decided === undefined ? Effect.void : Effect.logDebug(decided)
        })
      )

    return {
      take,
      succeeded: (sent) => outcome(sent, false),
      throttled: (sent) => outcome(sent, true),
      rate: Effect.sync(() => rate)
    }
  })
