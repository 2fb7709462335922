import { connect } from "node:net"
import type pg from "pg"

/**
 * Sends PostgreSQL's cancel request for the statement `client` is running: a new connection to
 * the same server carrying the backend's process id and secret key (no privileges needed).
 * Resolves once the request is written; the server answers by closing the connection.
 */
export const cancelBackend = (client: pg.PoolClient): Promise<void> => {
  const c = client as unknown as { processID: number | null; secretKey: number | null; host: string; port: number }
  if (c.processID === null || c.secretKey === null) return Promise.resolve()
  const packet = Buffer.alloc(16)
  packet.writeInt32BE(16, 0)
  packet.writeInt32BE(80877102, 4)
  packet.writeInt32BE(c.processID, 8)
  packet.writeInt32BE(c.secretKey, 12)
  return new Promise((resolve, reject) => {
    const socket = c.host.startsWith("/")
      ? connect({ path: `${c.host}/.s.PGSQL.${c.port}` })
      : connect({ host: c.host, port: c.port })
    socket.setTimeout(5_000, () => socket.destroy(new Error("cancel request timed out")))
    socket.once("error", reject)
    socket.once("connect", () => socket.end(packet, () => resolve()))
  })
}
