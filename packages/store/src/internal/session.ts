import type { PGlite } from "@electric-sql/pglite"

/** A query result as PGlite gives it, whichever process ran it. */
export interface SessionResult<R> {
  readonly rows: Array<R>
  readonly fields: ReadonlyArray<{ readonly name: string }>
  readonly affectedRows?: number
}

/**
 * The one PostgreSQL session of an embedded store. PGlite is a single session, so whoever uses it
 * takes it whole (`acquire`) and gives it back (the returned release): a transaction never
 * interleaves with another user's statements, in this process or in one served through it.
 */
export interface Session {
  readonly acquire: () => Promise<() => Promise<void>>
  /** Runs one statement; only between `acquire` and its release. */
  readonly query: <R>(
    text: string,
    params: ReadonlyArray<unknown>,
    rowMode: "object" | "array"
  ) => Promise<SessionResult<R>>
  /** A consistent gzipped tarball of the data directory (taken while holding the session). */
  readonly dump: () => Promise<Uint8Array>
}

/** A FIFO mutex: each `lock` resolves once every earlier holder has released. */
export const mutex = () => {
  let tail: Promise<void> = Promise.resolve()
  return (): Promise<() => void> => {
    const previous = tail
    let release!: () => void
    tail = new Promise<void>((resolve) => {
      release = resolve
    })
    return previous.then(() => release)
  }
}

/**
 * Parsers for rows as arrays, which only `queryReadOnly` asks for: a user's SQL, whose `bigint`
 * values come back as their decimal text, as pg gives them, instead of numbers that lose digits
 * past 2^53. The store's own queries (rows as objects) read `bigint` ids as numbers on both backends.
 */
const exact = { 20: (text: string) => text }

/** The session of a PGlite instance open in this process; a release rolls back what a holder left open. */
export const local = (pglite: PGlite): Session => {
  const lock = mutex()
  return {
    acquire: async () => {
      const release = await lock()
      return async () => {
        if (!pglite.closed && pglite.isInTransaction()) await pglite.query("rollback").catch(() => undefined)
        release()
      }
    },
    query: async <R>(text: string, params: ReadonlyArray<unknown>, rowMode: "object" | "array") => {
      const result = await pglite.query<R>(
        text,
        [...params],
        rowMode === "array" ? { rowMode, parsers: exact } : { rowMode }
      )
      return {
        rows: result.rows,
        fields: result.fields,
        ...(result.affectedRows === undefined ? {} : { affectedRows: result.affectedRows })
      }
    },
    dump: async () => {
      const file = await pglite.dumpDataDir("gzip")
      return new Uint8Array(await file.arrayBuffer())
    }
  }
}

/**
 * PGlite's start parameters with a 16 MB buffer pool instead of PostgreSQL's 128 MB. PGlite
 * initializes the whole pool in its WASM memory at start-up, so the pool's size is resident in every
 * process that opens the store: 16 MB cuts a command's peak from ~330 MB to ~195 MB. Pages evicted
 * from the pool are still in the operating system's cache; writing and reading a store showed no
 * difference in speed.
 */
export const startParams = (PGlite: { readonly defaultStartParams: ReadonlyArray<string> }): Array<string> => [
  ...PGlite.defaultStartParams,
  "-c",
  "shared_buffers=16MB"
]
