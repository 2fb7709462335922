/**
 * Serving the embedded store to other processes. The process holding the store's lock answers
 * on the lock's own socket; another pipetrail process that finds the store held connects there and
 * uses the holder's session as if it were its own (`Session`): it takes the session whole for a
 * query or a transaction, so every store guarantee (transactions, row locks, constraints) holds
 * as for the holder's own writes. A connection proves it may open the store by presenting the
 * token the holder wrote into the owner-only data directory: the socket's name is no secret.
 * Frames are a 4-byte length and a `v8.serialize`d value, so dates, bytes and bigints cross intact.
 */
import { timingSafeEqual } from "node:crypto"
import { connect, type Socket } from "node:net"
import { deserialize, serialize } from "node:v8"
import { mutex, type Session, type SessionResult } from "./session.js"

type Request =
  | { readonly id: number; readonly op: "acquire" | "release" | "dump" }
  | {
      readonly id: number
      readonly op: "query"
      readonly text: string
      readonly params: ReadonlyArray<unknown>
      readonly rowMode: "object" | "array"
    }

interface Reply {
  readonly id: number
  readonly result?: unknown
  readonly error?: { readonly message: string; readonly code?: string; readonly detail?: string }
}

const frame = (value: unknown): Buffer => {
  const body = serialize(value)
  const header = Buffer.alloc(4)
  header.writeUInt32BE(body.length)
  return Buffer.concat([header, body])
}

/** Calls `onFrame` with each value read from the socket, in order. */
const frames = (socket: Socket, onFrame: (value: unknown) => void): void => {
  let buffer = Buffer.alloc(0)
  socket.on("data", (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk])
    while (buffer.length >= 4) {
      const length = buffer.readUInt32BE(0)
      if (buffer.length < 4 + length) break
      const body = buffer.subarray(4, 4 + length)
      buffer = buffer.subarray(4 + length)
      onFrame(deserialize(body))
    }
  })
}

const sameToken = (a: string, b: string) => {
  const [x, y] = [Buffer.from(a), Buffer.from(b)]
  return x.length === y.length && timingSafeEqual(x, y)
}

const errorOf = (cause: unknown): NonNullable<Reply["error"]> => {
  const e = (typeof cause === "object" && cause !== null ? cause : {}) as {
    message?: unknown
    code?: unknown
    detail?: unknown
  }
  return {
    message: typeof e.message === "string" ? e.message : String(cause),
    ...(typeof e.code === "string" ? { code: e.code } : {}),
    ...(typeof e.detail === "string" ? { detail: e.detail } : {})
  }
}

/**
 * Serves `session` to the lock's connections that present `token`. The returned stop closes
 * every connection and resolves once what each was running has finished and been rolled back.
 */
export const serve = (
  listen: (handler: (socket: Socket) => void) => void,
  session: Session,
  token: string
): (() => Promise<void>) => {
  const connections = new Map<Socket, () => Promise<void>>()
  let stopped = false
  listen((socket) => {
    // Closing: a newcomer is turned away and retries until it can take the store itself.
    if (stopped) return void socket.destroy()
    let authenticated = false
    let release: (() => Promise<void>) | undefined
    let closed = false
    let chain: Promise<void> = Promise.resolve()
    const reply = (value: Reply | { readonly pid: number }) => {
      if (!closed) socket.write(frame(value))
    }
    const handle = async (request: Request): Promise<void> => {
      try {
        switch (request.op) {
          case "acquire": {
            const released = await session.acquire()
            if (closed) return await released()
            release = released
            return reply({ id: request.id })
          }
          case "release": {
            const r = release
            release = undefined
            await r?.()
            return reply({ id: request.id })
          }
          case "query":
            if (release === undefined) throw new Error("query outside an acquired session")
            return reply({ id: request.id, result: await session.query(request.text, request.params, request.rowMode) })
          case "dump":
            if (release === undefined) throw new Error("dump outside an acquired session")
            return reply({ id: request.id, result: await session.dump() })
        }
      } catch (cause) {
        reply({ id: request.id, error: errorOf(cause) })
      }
    }
    frames(socket, (value) => {
      if (!authenticated) {
        const offered = (value as { token?: unknown }).token
        if (typeof offered !== "string" || !sameToken(offered, token)) return void socket.destroy()
        authenticated = true
        return reply({ pid: process.pid })
      }
      chain = chain.then(() => handle(value as Request))
    })
    socket.on("error", () => undefined)
    socket.on("close", () => {
      closed = true
      // A client that went away mid-transaction: its work is rolled back, the session freed.
      chain = chain.then(async () => {
        const r = release
        release = undefined
        await r?.()
      })
    })
    connections.set(socket, () => chain)
  })
  return async () => {
    stopped = true
    for (const socket of connections.keys()) socket.destroy()
    await Promise.all([...connections.values()].map((settled) => settled().catch(() => undefined)))
  }
}

/** The error every pending call gets when the holder goes away: transient, so a batch is retried. */
const gone = () =>
  Object.assign(new Error("connection terminated: the process holding the embedded store exited"), {
    code: "ECONNRESET"
  })

/** A session served by the holder at `name`; `alive()` turns false once the connection is lost. */
export const connectTo = async (
  name: string,
  token: string
): Promise<{
  readonly session: Session
  readonly pid: number
  readonly alive: () => boolean
  readonly close: () => void
}> => {
  const socket = connect({ path: name })
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  let nextId = 1
  let open = true
  const hello = new Promise<number>((resolve, reject) => {
    socket.once("error", reject)
    socket.once("close", () => reject(gone()))
    frames(socket, (value) => {
      const pid = (value as { pid?: number }).pid
      if (pid !== undefined) return resolve(pid)
      const reply = value as Reply
      const waiter = pending.get(reply.id)
      pending.delete(reply.id)
      if (reply.error === undefined) waiter?.resolve(reply.result)
      else waiter?.reject(Object.assign(new Error(reply.error.message), reply.error))
    })
    socket.once("connect", () => socket.write(frame({ token })))
  })
  socket.on("error", () => undefined)
  socket.on("close", () => {
    open = false
    for (const waiter of pending.values()) waiter.reject(gone())
    pending.clear()
  })
  // The holder answers once its store is open (seconds, more on a loaded machine).
  const timer = setTimeout(
    () => socket.destroy(new Error("the process holding the embedded store did not answer")),
    120_000
  )
  const pid = await hello.finally(() => clearTimeout(timer))
  socket.unref()
  const call = (request: Omit<Request, "id"> & { readonly op: Request["op"] }): Promise<unknown> => {
    if (!open) return Promise.reject(gone())
    const id = nextId++
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject })
      socket.ref()
      socket.write(frame({ ...request, id }))
    }).finally(() => {
      if (pending.size === 0) socket.unref()
    })
  }
  // One acquisition at a time from this process: the holder serves a connection's requests in order.
  const lock = mutex()
  const session: Session = {
    acquire: async () => {
      const unlock = await lock()
      try {
        await call({ op: "acquire" })
      } catch (error) {
        unlock()
        throw error
      }
      return async () => {
        try {
          if (open) await call({ op: "release" })
        } finally {
          unlock()
        }
      }
    },
    query: <R>(text: string, params: ReadonlyArray<unknown>, rowMode: "object" | "array") =>
      call({ op: "query", text, params, rowMode } as Omit<Request, "id">) as Promise<SessionResult<R>>,
    dump: () => call({ op: "dump" }) as Promise<Uint8Array>
  }
  return { session, pid, alive: () => open, close: () => socket.destroy() }
}
