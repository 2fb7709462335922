import { chmodSync, constants, readdirSync } from "node:fs"
import { access, chmod, mkdir, readdir, readFile, realpath, stat } from "node:fs/promises"
import { dirname, join, resolve, sep } from "node:path"
import type { Extensions } from "@electric-sql/pglite"
import { local, type Session, startParams } from "./session.js"
import { connectTo, serve } from "./sharing.js"
import { acquire, StoreInUse, type StoreLock } from "./storeLock.js"

/** Why the embedded store was not opened, as a driver-style error the `DatabaseError` mapping keeps. */
export class EmbeddedStoreError extends Error {
  constructor(
    readonly code: "STORE_IN_USE" | "NOT_A_STORE" | "STORE_DAMAGED" | "BAD_DATA_DIR",
    message: string
  ) {
    super(message)
  }
}

const pseudoFileSystems = ["/proc", "/sys", "/dev"]

/** The nearest existing ancestor's real path: where a directory would really be created. */
const realAncestor = async (path: string): Promise<string> => {
  for (let current = path; ; current = dirname(current)) {
    const real = await realpath(current).catch(() => undefined)
    if (real !== undefined || dirname(current) === current) return real ?? current
  }
}

/** Refuses a data directory that cannot hold a store, before anything is created. */
const checkPlace = async (dataDir: string): Promise<string> => {
  if (dataDir.trim() === "") throw new EmbeddedStoreError("BAD_DATA_DIR", "the data directory is empty: pass a path")
  const path = resolve(dataDir)
  const real = await realAncestor(path)
  const pseudo = pseudoFileSystems.find((p) => real === p || real.startsWith(`${p}${sep}`))
  if (pseudo !== undefined) {
    throw new EmbeddedStoreError(
      "BAD_DATA_DIR",
      `the data directory ${dataDir} is under ${pseudo}, a kernel file system that cannot hold a store`
    )
  }
  return path
}

/**
 * Walks the store and makes every file 0600 and every directory 0700 (PGlite creates some
 * 0666/0755). Synchronously: a store has ~1,000 files, and a thread-pool round trip for each cost
 * ~0.17 s of every embedded command, against ~20 ms of blocking for the whole walk.
 */
const ownerOnly = (dir: string): void => {
  chmodSync(dir, 0o700)
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) ownerOnly(path)
    else if (entry.isFile()) chmodSync(path, 0o600)
  }
}

const exists = (path: string) =>
  access(path, constants.F_OK).then(
    () => true,
    () => false
  )

/** What is in the directory: nothing (a new store), a store, or something else (refused). */
const inspect = async (dataDir: string): Promise<"empty" | "store"> => {
  const entries = (await readdir(dataDir)).filter((name) => name !== ".pipetrail.lock")
  if (entries.length === 0) return "empty"
  if (!(await exists(join(dataDir, "PG_VERSION")))) {
    throw new EmbeddedStoreError(
      "NOT_A_STORE",
      `${dataDir} is not empty and holds no store (no PG_VERSION file): refusing to create a store there. Pass an empty or new directory; if it was a store, its PG_VERSION is lost: restore a backup (pipetrail db restore)`
    )
  }
  if (!(await exists(join(dataDir, "global", "pg_control")))) {
    throw new EmbeddedStoreError(
      "STORE_DAMAGED",
      `the embedded store at ${dataDir} is damaged: global/pg_control is missing. Restore a backup into a new directory (pipetrail db restore), or move the directory aside to start an empty store`
    )
  }
  return "store"
}

/** An open embedded store: its session (local, or served by the holder) and how to close it. */
export interface Embedded {
  readonly session: Session
  readonly close: () => Promise<void>
}

interface Options {
  readonly extensions?: Extensions
  readonly loadDataDir?: Blob
}

/** Opens the store in this process, as the holder of its lock, serving it to other processes. */
const hold = async (path: string, dataDir: string, lock: StoreLock, options: Options): Promise<Embedded> => {
  const state = await inspect(path)
  if (options.loadDataDir !== undefined && state !== "empty") {
    throw new EmbeddedStoreError("NOT_A_STORE", `restore into a new or empty directory: ${dataDir} is not empty`)
  }
  const version = state === "store" ? (await readFile(join(path, "PG_VERSION"), "utf8")).trim() : undefined
  const stderr: Array<string> = []
  const { PGlite } = await import("@electric-sql/pglite")
  const pglite = await PGlite.create({
    dataDir: path,
    startParams: startParams(PGlite),
    ...(options.extensions === undefined ? {} : { extensions: options.extensions }),
    ...(options.loadDataDir === undefined ? {} : { loadDataDir: options.loadDataDir }),
    onStderr: (text) => {
      stderr.push(text)
      return true
    }
  }).catch((cause: unknown) => {
    const what = cause instanceof Error ? cause.message : String(cause)
    const detail = stderr.find((line) => /PANIC|FATAL|invalid|could not/i.test(line))?.trim()
    throw new EmbeddedStoreError(
      "STORE_DAMAGED",
      `the embedded store at ${dataDir} could not be opened, it looks damaged (${detail ?? what.split("\n")[0]}${version === undefined ? "" : `; PostgreSQL ${version} data`}). Restore a backup into a new directory (pipetrail db restore), or move the directory aside to start an empty store`
    )
  })
  ownerOnly(path)
  const session = local(pglite)
  const stopServing = lock.serve === undefined ? async () => undefined : serve(lock.serve, session, lock.token)
  return {
    session,
    close: async () => {
      // Served processes are cut off first (their open transactions roll back); they take the store over.
      await stopServing()
      if (!pglite.closed) await pglite.close()
      try {
        ownerOnly(path)
      } catch {
        // Closing goes on: the next open walks the store again.
      }
    }
  }
}

/**
 * A session that outlives the holder it is served by: when the holder exits, the next acquisition
 * opens the store again, as its new holder or through whichever process took it. A transaction
 * cut off by the holder's exit fails as a lost connection (transient: a batch is retried).
 */
const failover = (first: Connected, reopen: () => Promise<Embedded | Connected>): Embedded => {
  let current: Embedded | Connected = first
  // One reopening at a time: fibers that find the holder gone together all wait for the same one.
  let reopening: Promise<Embedded | Connected> | undefined
  const isAlive = (c: Embedded | Connected) => !("alive" in c) || c.alive()
  return {
    session: {
      acquire: async () => {
        if (!isAlive(current)) {
          reopening ??= reopen().finally(() => {
            reopening = undefined
          })
          current = await reopening
        }
        return current.session.acquire()
      },
      query: (text, params, rowMode) => current.session.query(text, params, rowMode),
      dump: () => current.session.dump()
    },
    close: async () => {
      await current.close()
    }
  }
}

interface Connected {
  readonly session: Session
  readonly alive: () => boolean
  readonly close: () => Promise<void>
}

/** Opens the store as its holder, or connects to the process holding it, unless that one is closing. */
const openOrConnect = async (
  path: string,
  dataDir: string,
  options: Options
): Promise<Embedded | Connected | "holder closing"> => {
  try {
    const lock = await acquire(path)
    try {
      const held = await hold(path, dataDir, lock, options)
      return {
        session: held.session,
        close: async () => {
          try {
            await held.close()
          } finally {
            await lock.release()
          }
        }
      }
    } catch (error) {
      await lock.release()
      throw error
    }
  } catch (error) {
    if (!(error instanceof StoreInUse)) throw error
    // This process holding it already (a second layer on one directory) is not served: it would wait on itself.
    if (
      error.socketName === undefined ||
      error.token === undefined ||
      options.loadDataDir !== undefined ||
      error.pid === process.pid
    ) {
      throw new EmbeddedStoreError("STORE_IN_USE", error.message)
    }
    const connection = await connectTo(error.socketName, error.token).catch((cause: { code?: string }) => {
      if (cause.code === "HOLDER_UNPROVEN") {
        throw new EmbeddedStoreError(
          "STORE_IN_USE",
          `${error.message}; but the process answering on its socket could not prove it holds the store, so nothing was sent to it`
        )
      }
      return undefined
    })
    if (connection === undefined) return "holder closing"
    return { session: connection.session, alive: connection.alive, close: async () => connection.close() }
  }
}

/** Opens or connects; while the holder is closing (it turns newcomers away), tries again for up to a minute. */
const openOrConnectRetrying = async (
  path: string,
  dataDir: string,
  options: Options
): Promise<Embedded | Connected> => {
  for (let attempt = 0; ; attempt++) {
    const opened = await openOrConnect(path, dataDir, options)
    if (opened !== "holder closing") return opened
    if (attempt >= 300) {
      throw new EmbeddedStoreError(
        "STORE_IN_USE",
        `the process holding the embedded store at ${dataDir} does not let go of it`
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/**
 * Opens (or creates) the embedded store in `dataDir`: refuses kernel file systems and non-empty
 * directories that are not stores (PGlite would initialize a new cluster over a store that lost
 * its PG_VERSION), and turns a damaged store's crash into one actionable line. One process holds
 * the store (a lock that dies with it) and serves it to the others, which use it through the
 * holder's session. `loadDataDir` restores a backup into a new, empty directory.
 */
export const openEmbedded = async (dataDir: string, options: Options = {}): Promise<Embedded> => {
  const place = await checkPlace(dataDir)
  const existing = await stat(place).catch(() => undefined)
  if (existing !== undefined && !existing.isDirectory()) {
    throw new EmbeddedStoreError("BAD_DATA_DIR", `the data directory ${dataDir} is not a directory`)
  }
  await mkdir(place, { recursive: true, mode: 0o700 })
  // PGlite opens the real directory: a data directory given through a symbolic link works too.
  const path = await realpath(place)
  await chmod(path, 0o700)
  const opened = await openOrConnectRetrying(path, dataDir, options)
  return "alive" in opened ? failover(opened, () => openOrConnectRetrying(path, dataDir, options)) : opened
}
