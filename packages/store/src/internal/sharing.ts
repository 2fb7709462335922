/**
 * Serving the embedded store to other processes. The process holding the store's lock answers
 * on the lock's own socket; another pipetrail process that finds the store held connects there and
 * uses the holder's session as if it were its own (`Session`): it takes the session whole for a
 * query or a transaction, so every store guarantee (transactions, row locks, constraints) holds
 * as for the holder's own writes. Both ends prove they know the token the holder wrote into the
 * owner-only data directory (an HMAC over fresh nonces; the token never crosses the socket): the
 * socket's name is no secret, and a process squatting it is neither served nor believed. After the
 * handshake, frames carry `v8.serialize`d values, so dates, bytes and bigints cross intact.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
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

/** A frame: a 4-byte length, then the body. Before the handshake bodies are small JSON; after it, `v8.serialize`. */
const frameOf = (body: Uint8Array): Buffer => {
  const header = Buffer.alloc(4)
  header.writeUInt32BE(body.length)
  return Buffer.concat([header, body])
}
const frame = (value: unknown): Buffer => frameOf(serialize(value))
const jsonFrame = (value: unknown): Buffer => frameOf(Buffer.from(JSON.stringify(value), "utf8"))

/** The largest body before the handshake (a nonce, a proof), and after it (a backup of the store). */
const maxHandshakeBody = 1_024
const maxBody = 2 ** 30

/**
 * Calls `onFrame` with each body read from the socket, in order; the socket is destroyed on a body
 * over the current limit or one `onFrame` cannot read (it throws), so nothing a peer sends can
 * crash this process.
 */
const frames = (socket: Socket, limit: () => number, onFrame: (body: Buffer) => void): void => {
  let buffer: Buffer = Buffer.alloc(0)
  socket.on("data", (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk])
    while (buffer.length >= 4) {
      const length = buffer.readUInt32BE(0)
      if (length > limit()) return void socket.destroy()
      if (buffer.length < 4 + length) break
      const body = buffer.subarray(4, 4 + length)
      buffer = buffer.subarray(4 + length)
      try {
        onFrame(body)
      } catch {
        return void socket.destroy()
      }
    }
  })
}

const json = (body: Buffer): Record<string, unknown> => {
  const value: unknown = JSON.parse(body.toString("utf8"))
  if (typeof value !== "object" || value === null) throw new Error("not an object")
  return value as Record<string, unknown>
}

/**
 * Proof of the token without revealing it: an HMAC of both nonces, by role. Each side proves it
 * knows the token, so a process that squats the socket's name learns nothing and is not believed.
 */
const proof = (token: string, role: "holder" | "client", mine: string, theirs: string) =>
  createHmac("sha256", token).update(`${role}:${mine}:${theirs}`).digest("hex")

const sameText = (a: unknown, b: string) => {
  if (typeof a !== "string") return false
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
    // Handshake: the client's nonce; the holder's nonce and proof; the client's proof.
    const nonce = randomBytes(16).toString("hex")
    let clientNonce: string | undefined
    frames(
      socket,
      () => (authenticated ? maxBody : maxHandshakeBody),
      (body) => {
        if (authenticated) {
          const request = deserialize(body) as Request
          chain = chain.then(() => handle(request))
          return
        }
        const message = json(body)
        if (clientNonce === undefined) {
          if (typeof message.hello !== "string" || message.hello.length > 64) throw new Error("bad hello")
          clientNonce = message.hello
          return void socket.write(jsonFrame({ nonce, proof: proof(token, "holder", nonce, clientNonce) }))
        }
        if (!sameText(message.proof, proof(token, "client", clientNonce, nonce))) throw new Error("bad proof")
        authenticated = true
        reply({ pid: process.pid })
      }
    )
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
  let authenticated = false
  const nonce = randomBytes(16).toString("hex")
  let unproven = false
  const hello = new Promise<number>((resolve, reject) => {
    socket.once("error", reject)
    socket.once("close", () =>
      reject(
        unproven
          ? Object.assign(new Error("the process answering on the store's socket could not prove it holds the store"), {
              code: "HOLDER_UNPROVEN"
            })
          : gone()
      )
    )
    frames(
      socket,
      () => (authenticated ? maxBody : maxHandshakeBody),
      (body) => {
        if (!authenticated) {
          const message = json(body)
          // The holder must prove it knows the token before the client proves it does.
          if (
            typeof message.nonce !== "string" ||
            !sameText(message.proof, proof(token, "holder", message.nonce, nonce))
          ) {
            unproven = true
            throw new Error("the process answering for the store could not prove it holds it")
          }
          authenticated = true
          return void socket.write(jsonFrame({ proof: proof(token, "client", nonce, message.nonce) }))
        }
        const value = deserialize(body)
        const pid = (value as { pid?: number }).pid
        if (pid !== undefined) return resolve(pid)
        const reply = value as Reply
        const waiter = pending.get(reply.id)
        pending.delete(reply.id)
        if (reply.error === undefined) waiter?.resolve(reply.result)
        else waiter?.reject(Object.assign(new Error(reply.error.message), reply.error))
      }
    )
    socket.once("connect", () => socket.write(jsonFrame({ hello: nonce })))
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
