import { Schema } from "effect"

/** A database call failed: connection, query, constraint or migration. Never carries a password. */
export class DatabaseError extends Schema.TaggedError<DatabaseError>()("DatabaseError", {
  operation: Schema.String,
  message: Schema.String,
  code: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String),
  /**
   * The driver's own error, secrets redacted: its name, message, code, detail, PostgreSQL's
   * severity, routine and position, and its stack (`Cause.pretty(cause, { renderErrorCause: true })`).
   */
  cause: Schema.optional(Schema.Defect)
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
    ...(typeof error.detail === "string" ? { detail: redact(error.detail, secrets) } : {}),
    cause: keptCause(cause, redact(raw, secrets), secrets)
  })
}

/** A redacted copy of the driver's error: the fields that say what happened, none that could carry a secret unredacted. */
const keptCause = (cause: unknown, message: string, secrets: ReadonlyArray<string>): Error => {
  const source: Record<string, unknown> = typeof cause === "object" && cause !== null ? { ...cause } : {}
  const kept = new Error(message)
  if (cause instanceof Error) kept.name = cause.name
  for (const field of [
    "code",
    "detail",
    "hint",
    "severity",
    "routine",
    "position",
    "where",
    "schema",
    "table",
    "constraint"
  ]) {
    const value = source[field]
    if (typeof value === "string" || typeof value === "number")
      Object.assign(kept, { [field]: typeof value === "string" ? redact(value, secrets) : value })
  }
  kept.stack =
    cause instanceof Error && cause.stack !== undefined ? redact(cause.stack, secrets) : `${kept.name}: ${message}`
  return kept
}

const transientCodes = new Set([
  "57P01", // admin_shutdown: the backend was terminated
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "08000",
  "08001",
  "08003",
  "08004",
  "08006", // connection failures
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE"
])

/** Reasons a connection could not be made or kept: the address, the credentials, the database. */
const connectionCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "28P01", // invalid_password
  "28000", // invalid_authorization_specification
  "3D000", // invalid_catalog_name: no such database
  "57P01",
  "08006",
  "08001"
])

/** Whether the error says the database could not be reached (the URL, the network or the credentials). */
export const cannotConnect = (error: { readonly code?: string | undefined; readonly message: string }): boolean =>
  (error.code !== undefined && connectionCodes.has(error.code)) || /connect/i.test(error.message)

/**
 * Whether retrying can succeed: the connection was lost or the transaction lost a race. A failed
 * transaction rolled back completely, so retrying a write is safe.
 */
export const isTransient = (error: DatabaseError): boolean =>
  (error.code !== undefined && transientCodes.has(error.code)) ||
  /connection terminated|terminating connection|connection ended|server closed the connection|Connection terminated/i.test(
    error.message
  )
