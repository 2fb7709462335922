import { ParseResult, Schema } from "effect"

const isoPattern = /^[+-]?\d{4,6}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/

/**
 * A point in time. Decodes from a `Date` (the SDK's output), epoch seconds (the wire format)
 * or an ISO 8601 string (the canonical document); always encodes to an ISO 8601 string.
 */
const TimestampInput = Schema.declare(
  (input: unknown): input is Date | number | string =>
    input instanceof Date || typeof input === "number" || typeof input === "string",
  { identifier: "TimestampInput", description: "a Date, epoch seconds or an ISO 8601 string" }
)

export const Timestamp = Schema.transformOrFail(TimestampInput, Schema.ValidDateFromSelf, {
  strict: true,
  decode: (input, _, ast) => {
    const date =
      input instanceof Date
        ? input
        : typeof input === "number"
          ? new Date(input * 1000)
          : isoPattern.test(input)
            ? new Date(input)
            : undefined
    return date !== undefined && !Number.isNaN(date.getTime())
      ? ParseResult.succeed(date)
      : ParseResult.fail(
          new ParseResult.Type(
            ast,
            input,
            `invalid timestamp ${JSON.stringify(String(input))}: expected epoch seconds, an ISO 8601 string or a Date`
          )
        )
  },
  encode: (date) => ParseResult.succeed(date.toISOString())
}).annotations({ identifier: "Timestamp" })
