import { type Brand, Schema } from "effect"

/** A value AWS sent that this version of pipetrail does not know yet; keeps the raw string. */
export type Unrecognized<Name extends string> = string & Brand.Brand<`Unrecognized${Name}`>

/**
 * An enum that never rejects: each known value decodes to its literal, anything else to an
 * `Unrecognized` brand carrying the raw string, so new AWS values are kept rather than refused.
 */
export const make = <const Literals extends readonly [string, ...Array<string>], const Name extends string>(
  name: Name,
  literals: Literals
) => {
  const known = Schema.Literal(...literals)
  const unrecognized = Schema.String.pipe(
    Schema.filter((s) => !(literals as ReadonlyArray<string>).includes(s), {
      identifier: `Unrecognized${name}`,
      description: `a ${name} value unknown to this version of pipetrail`
    }),
    Schema.brand(`Unrecognized${name}` as const)
  )
  return Object.assign(Schema.Union(known, unrecognized).annotations({ identifier: name }), {
    literals,
    /** Whether the value is one of the enum's known literals. */
    isKnown: (value: string): value is Literals[number] => (literals as ReadonlyArray<string>).includes(value)
  })
}
