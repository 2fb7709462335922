import type { Readable } from "node:stream"

/** An HTTP response as it arrived: status, the headers that identify it, and the body's exact bytes. */
export interface RawResponse {
  readonly status: number
  readonly requestId?: string
  readonly contentType?: string
  readonly body: Uint8Array
}

/** Where one attempt's raw response is left for the caller. */
export interface Capture {
  raw?: RawResponse
}

interface HttpResponseLike {
  statusCode: number
  headers: Record<string, string | undefined>
  body: unknown
}

const bytesOf = async (body: unknown): Promise<Uint8Array> => {
  if (body === undefined || body === null) return new Uint8Array()
  if (body instanceof Uint8Array) return body
  if (typeof body === "string") return new TextEncoder().encode(body)
  const chunks: Array<Uint8Array> = []
  for await (const chunk of body as Readable) {
    chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : (chunk as Uint8Array))
  }
  return Buffer.concat(chunks)
}

const header = (headers: Record<string, string | undefined>, name: string): string | undefined => {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name)
  const value = key === undefined ? undefined : headers[key]
  return value === undefined || value.length === 0 ? undefined : value
}

/**
 * A deserialize-step middleware placed between the HTTP handler and the SDK's deserializer: it
 * buffers the body as it arrived, hands the deserializer the same bytes, and leaves a copy in
 * `capture`, whether the deserializer then succeeds or throws.
 */
const middleware =
  (capture: Capture) => (next: (args: unknown) => Promise<{ response: unknown }>) => async (args: unknown) => {
    const result = await next(args)
    const response = result.response as HttpResponseLike
    if (typeof response?.statusCode === "number") {
      const body = await bytesOf(response.body)
      response.body = body
      const requestId = header(response.headers ?? {}, "x-amzn-requestid")
      const contentType = header(response.headers ?? {}, "content-type")
      capture.raw = {
        status: response.statusCode,
        body,
        ...(requestId === undefined ? {} : { requestId }),
        ...(contentType === undefined ? {} : { contentType })
      }
    }
    return result
  }

/** Something with an SDK middleware stack: every command. */
export interface WithMiddleware {
  readonly middlewareStack: {
    add: (middleware: never, options: { step: "deserialize"; priority: "low"; name: string }) => void
  }
}

/** Adds the raw-body capture to one command (one attempt); the response lands in `capture.raw`. */
export const captureRaw = <C extends WithMiddleware>(command: C, capture: Capture): C => {
  // SDK boundary: each command's middleware stack is typed by its own input and output; this
  // middleware only reads the HTTP response, whatever the command.
  command.middlewareStack.add(middleware(capture) as never, {
    step: "deserialize",
    priority: "low",
    name: "pipetrailRawResponse"
  })
  return command
}

/** The body parsed as JSON, or `undefined` when it is not JSON. */
export const jsonOf = (raw: RawResponse): unknown => {
  try {
    return JSON.parse(Buffer.from(raw.body).toString("utf8"))
  } catch {
    return undefined
  }
}
