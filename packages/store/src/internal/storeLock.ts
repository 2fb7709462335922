import { createHash, randomBytes } from "node:crypto"
import { open, readFile, realpath, unlink } from "node:fs/promises"
import { createServer, type Socket } from "node:net"
import { join } from "node:path"

/**
 * A held lock on an embedded store directory; `release` lets the next process in. On Linux the
 * lock is a listening socket: `serve` hands it a handler for the connections of processes that
 * want the store (those that arrived before the store was open included), which must present
 * `token`.
 */
export interface StoreLock {
  readonly release: () => Promise<void>
  readonly serve?: (handler: (socket: Socket) => void) => void
  readonly token: string
}

/** What the holder wrote beside the store: its pid, and the token that admits a connection. */
interface HolderFile {
  readonly pid?: number
  readonly token?: string
}

/** Another process holds the store: `pid` names it; `name` and `token` reach it, where it serves. */
export class StoreInUse extends Error {
  readonly code = "STORE_IN_USE"
  constructor(
    readonly dataDir: string,
    readonly pid: number | undefined,
    readonly socketName?: string,
    readonly token?: string
  ) {
    super(
      `the embedded store at ${dataDir} is in use by ${pid === undefined ? "another pipetrail process" : `pipetrail process ${pid}`}: one process opens it at a time (wait for it, stop it, or use PostgreSQL for overlapping jobs)`
    )
  }
}

/** The holder's pid and token, written next to the store (owner-only) by whoever holds the lock. */
const holderFile = (dir: string) => join(dir, ".pipetrail.lock")

const readHolder = async (dir: string): Promise<HolderFile> => {
  try {
    const parsed = JSON.parse(await readFile(holderFile(dir), "utf8")) as { pid?: unknown; token?: unknown }
    return {
      ...(Number.isSafeInteger(parsed.pid) && (parsed.pid as number) > 0 ? { pid: parsed.pid as number } : {}),
      ...(typeof parsed.token === "string" ? { token: parsed.token } : {})
    }
  } catch {
    return {}
  }
}

const holderText = (token: string) => `${JSON.stringify({ pid: process.pid, token })}\n`

/**
 * On Linux: a socket bound in the abstract namespace, named after the directory's real path. The
 * kernel lets one process bind a name and frees it the moment that process ends, `kill -9`
 * included: no stale lock, no race between two openers. The holder's pid and a fresh token are
 * written beside the store (owner-only), so another opener can name the holder or be served by it.
 */
const abstractLock = async (dataDir: string, real: string): Promise<StoreLock> => {
  const name = `\0pipetrail-store-${createHash("sha256").update(real).digest("hex").slice(0, 40)}`
  // Connections that arrive while the holder is still opening the store wait for `serve`.
  let handler: ((socket: Socket) => void) | undefined
  const waiting: Array<Socket> = []
  const server = createServer((socket) => (handler === undefined ? waiting.push(socket) : handler(socket)))
  server.unref()
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen({ path: name }, () => {
      server.off("error", reject)
      resolve()
    })
  }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== "EADDRINUSE") throw error
    // The holder may have bound the name a moment ago: give it time to write its file.
    let holder = await readHolder(real)
    for (let i = 0; i < 20 && holder.token === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50))
      holder = await readHolder(real)
    }
    throw new StoreInUse(dataDir, holder.pid, name, holder.token)
  })
  const token = randomBytes(32).toString("hex")
  // Whatever is at the holder file's path (a stale file, or a symbolic link planted to make this
  // process overwrite another file) is removed, not followed; the new file is created exclusively.
  await unlink(holderFile(real)).catch(() => undefined)
  const handle = await open(holderFile(real), "wx", 0o600)
  try {
    await handle.writeFile(holderText(token))
  } finally {
    await handle.close()
  }
  return {
    serve: (h) => {
      handler = h
      for (const socket of waiting.splice(0)) h(socket)
    },
    token,
    release: async () => {
      await unlink(holderFile(real)).catch(() => undefined)
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Elsewhere: a pid file created exclusively inside the directory, taken over when its process is
 * gone. Advisory: two processes finding the same stale file at the same instant can both win.
 */
const pidFileLock = async (dataDir: string, real: string): Promise<StoreLock> => {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const token = randomBytes(32).toString("hex")
      const handle = await open(holderFile(real), "wx", 0o600)
      await handle.writeFile(holderText(token))
      await handle.close()
      return { token, release: () => unlink(holderFile(real)).catch(() => undefined) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      const { pid } = await readHolder(real)
      if (pid !== undefined && alive(pid)) throw new StoreInUse(dataDir, pid)
      await unlink(holderFile(real)).catch(() => undefined)
    }
  }
  throw new StoreInUse(dataDir, undefined)
}

/** Takes the store directory's lock for this process, or fails with `StoreInUse` naming the holder. */
export const acquire = async (dataDir: string): Promise<StoreLock> => {
  const real = await realpath(dataDir)
  return process.platform === "linux" ? abstractLock(dataDir, real) : pidFileLock(dataDir, real)
}
