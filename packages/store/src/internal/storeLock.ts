import { createHash } from "node:crypto"
import { open, readFile, realpath, unlink, writeFile } from "node:fs/promises"
import { createServer } from "node:net"
import { join } from "node:path"

/** A held lock on an embedded store directory; `release` lets the next process in. */
export interface StoreLock {
  readonly release: () => Promise<void>
}

/** Another process holds the store: `pid` names it when it could be asked. */
export class StoreInUse extends Error {
  readonly code = "STORE_IN_USE"
  constructor(
    readonly dataDir: string,
    readonly pid: number | undefined
  ) {
    super(
      `the embedded store at ${dataDir} is in use by ${pid === undefined ? "another pipetrail process" : `pipetrail process ${pid}`}: one process opens it at a time (wait for it, stop it, or use PostgreSQL for overlapping jobs)`
    )
  }
}

/** The holder's pid, written next to the store by whoever holds the lock (informational on Linux). */
const pidFile = (dir: string) => join(dir, ".pipetrail.lock")

const readPid = async (dir: string): Promise<number | undefined> => {
  const pid = Number((await readFile(pidFile(dir), "utf8").catch(() => "")).trim())
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
}

/**
 * On Linux: a socket bound in the abstract namespace, named after the directory's real path. The
 * kernel lets one process bind a name and frees it the moment that process ends, `kill -9`
 * included: no stale lock, no race between two openers. The holder's pid is written beside the
 * store so a refused opener can name it.
 */
const abstractLock = async (dataDir: string, real: string): Promise<StoreLock> => {
  const name = `\0pipetrail-store-${createHash("sha256").update(real).digest("hex").slice(0, 40)}`
  const server = createServer((socket) => socket.destroy())
  server.unref()
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen({ path: name }, () => {
      server.off("error", reject)
      resolve()
    })
  }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code === "EADDRINUSE") throw new StoreInUse(dataDir, await readPid(real))
    throw error
  })
  await writeFile(pidFile(real), `${process.pid}\n`, { mode: 0o600 }).catch(() => undefined)
  return {
    release: async () => {
      await unlink(pidFile(real)).catch(() => undefined)
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
      const handle = await open(pidFile(real), "wx", 0o600)
      await handle.writeFile(`${process.pid}\n`)
      await handle.close()
      return { release: () => unlink(pidFile(real)).catch(() => undefined) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      const pid = await readPid(real)
      if (pid !== undefined && alive(pid)) throw new StoreInUse(dataDir, pid)
      await unlink(pidFile(real)).catch(() => undefined)
    }
  }
  throw new StoreInUse(dataDir, undefined)
}

/** Takes the store directory's lock for this process, or fails with `StoreInUse` naming the holder. */
export const acquire = async (dataDir: string): Promise<StoreLock> => {
  const real = await realpath(dataDir)
  return process.platform === "linux" ? abstractLock(dataDir, real) : pidFileLock(dataDir, real)
}
