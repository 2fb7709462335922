import { constants } from "node:fs"
import { access, chmod, mkdir, readdir, readFile, realpath, stat } from "node:fs/promises"
import { dirname, join, resolve, sep } from "node:path"
import { type Extensions, PGlite } from "@electric-sql/pglite"
import { acquire } from "./storeLock.js"

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

/** Walks the store and makes every file 0600 and every directory 0700 (PGlite creates some 0666/0755). */
const ownerOnly = async (dir: string): Promise<void> => {
  await chmod(dir, 0o700)
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) await ownerOnly(path)
    else if (entry.isFile()) await chmod(path, 0o600)
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

/** An open embedded store and how to close it. */
export interface Embedded {
  readonly pglite: PGlite
  readonly close: () => Promise<void>
}

/**
 * Opens (or creates) the embedded store in `dataDir`: refuses kernel file systems and non-empty
 * directories that are not stores (PGlite would initialize a new cluster over a store that lost
 * its PG_VERSION), takes the directory's lock (one process at a time), and turns a damaged store's crash into
 * one actionable line. `loadDataDir` restores a backup into a new, empty directory.
 */
export const openEmbedded = async (
  dataDir: string,
  options: { readonly extensions?: Extensions; readonly loadDataDir?: Blob } = {}
): Promise<Embedded> => {
  const path = await checkPlace(dataDir)
  await mkdir(path, { recursive: true, mode: 0o700 })
  if (!(await stat(path)).isDirectory()) {
    throw new EmbeddedStoreError("BAD_DATA_DIR", `the data directory ${dataDir} is not a directory`)
  }
  await chmod(path, 0o700)
  const lock = await acquire(path).catch((error: Error & { code?: string }) => {
    throw error.code === "STORE_IN_USE" ? new EmbeddedStoreError("STORE_IN_USE", error.message) : error
  })
  try {
    const state = await inspect(path)
    if (options.loadDataDir !== undefined && state !== "empty") {
      throw new EmbeddedStoreError("NOT_A_STORE", `restore into a new or empty directory: ${dataDir} is not empty`)
    }
    const version = state === "store" ? (await readFile(join(path, "PG_VERSION"), "utf8")).trim() : undefined
    const stderr: Array<string> = []
    const pglite = await PGlite.create({
      dataDir: path,
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
    await ownerOnly(path)
    return {
      pglite,
      close: async () => {
        try {
          if (!pglite.closed) await pglite.close()
          await ownerOnly(path).catch(() => undefined)
        } finally {
          await lock.release()
        }
      }
    }
  } catch (error) {
    await lock.release()
    throw error
  }
}
