import { Schema } from "effect"

/** An optional property that is either absent or holds a value (never `undefined`). */
export const optional = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true })
