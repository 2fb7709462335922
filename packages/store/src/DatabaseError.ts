import { Schema } from "effect"

/** A database call failed: connection, query, constraint or migration. Never carries a password. */
export class DatabaseError extends Schema.TaggedError<DatabaseError>()("DatabaseError", {
  operation: Schema.String,
  message: Schema.String,
  code: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String)
}) {}

const urlCredentials = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@/?#\s]*@/gi

/** Removes passwords from connection strings, and any of the given secrets, from a text. */
export const redact = (text: string, secrets: ReadonlyArray<string> = []): string =>
  secrets.reduce(
    (out, secret) => (secret.length >= 3 ? out.split(secret).join("***") : out),
    text.replace(urlCredentials, "$1:***@")
  )

/** Wraps anything a driver rejects with into a `DatabaseError`, redacting secrets. */
export const fromCause = (operation: string, cause: unknown, secrets: ReadonlyArray<string> = []): DatabaseError => {
  if (cause instanceof DatabaseError) return cause
  const error = (typeof cause === "object" && cause !== null ? cause : {}) as {
    message?: unknown
    code?: unknown
    detail?: unknown
    errors?: unknown
  }
  const nested = Array.isArray(error.errors)
    ? error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join("; ")
    : ""
  const raw = typeof error.message === "string" && error.message.length > 0 ? error.message : nested || String(cause)
  return new DatabaseError({
    operation,
    message: redact(raw, secrets),
    ...(typeof error.code === "string" ? { code: error.code } : {}),
    ...(typeof error.detail === "string" ? { detail: redact(error.detail, secrets) } : {})
  })
}
