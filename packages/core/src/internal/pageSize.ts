import { Effect } from "effect"
import { InvalidInputError } from "../CodePipelineError.js"

/** The page-size rule of the model's list calls, for the service and its test double alike. */
export const validatePageSize = (value: number | undefined, max: number) =>
  value === undefined || (Number.isInteger(value) && value >= 1 && value <= max)
    ? Effect.succeed(value)
    : Effect.fail(
        new InvalidInputError({
          field: "pageSize",
          value: String(value),
          message: `page size must be an integer from 1 to ${max}`
        })
      )
