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
  const known: ReadonlySet<string> = new Set(literals)
  const isKnown = (value: string): value is Literals[number] => known.has(value)
  // An unknown value is branded as such: the brand is nominal, so this is where it is given.
  const of = (value: string): Literals[number] | Unrecognized<Name> =>
    isKnown(value) ? value : (value as Unrecognized<Name>)
  const schema = Schema.declare<Literals[number] | Unrecognized<Name>>(
    (input: unknown): input is Literals[number] | Unrecognized<Name> => typeof input === "string",
    {
      identifier: name,
      description: `one of ${literals.join(", ")}, or a value unknown to this version of pipetrail`,
      arbitrary: () => (fc) => fc.oneof(fc.constantFrom(...literals), fc.string().map(of)),
      pretty: () => (value: string) => JSON.stringify(value),
      equivalence: () => (a: string, b: string) => a === b
    }
  )
  return Object.assign(schema, {
    literals,
    /** Whether the value is one of the enum's known literals. */
    isKnown,
    /** A raw string (a stored value, say) as the enum: every string is a member, known or not. */
    of
  })
}
