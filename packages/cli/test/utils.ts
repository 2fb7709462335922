import { spawn } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The built CLI: the tests run the real binary as a process. */
export const bin = fileURLToPath(new URL("../dist/release/pipetrail.js", import.meta.url))
if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`pnpm build\` before the CLI tests`)

/** What a CLI process did. */
export interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** A running CLI process. */
export interface Running {
  readonly child: ReturnType<typeof spawn>
  readonly stdout: () => string
  readonly stderr: () => string
  readonly done: Promise<Result>
}

/** Starts `pipetrail ...args` with a clean environment plus `env`. */
export const start = (args: ReadonlyArray<string>, env: Record<string, string | undefined> = {}): Running => {
  const child = spawn(process.execPath, [bin, ...args], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      AWS_REGION: "us-east-1",
      AWS_EC2_METADATA_DISABLED: "true",
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  let err = ""
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString("utf8")
  })
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString("utf8")
  })
  const done = new Promise<Result>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout: out, stderr: err }))
  })
  return { child, stdout: () => out, stderr: () => err, done }
}

/** Runs `pipetrail ...args` to completion (killed after `timeoutMs`). */
export const run = async (
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined> = {},
  timeoutMs = 60_000
): Promise<Result> => {
  const p = start(args, env)
  const timer = setTimeout(() => p.child.kill("SIGKILL"), timeoutMs)
  try {
    return await p.done
  } finally {
    clearTimeout(timer)
  }
}

/** Waits until `predicate` holds (polling), or fails after `timeoutMs`. */
export const until = async (predicate: () => boolean, timeoutMs = 30_000, what = "condition"): Promise<void> => {
  const start = Date.now()
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A fresh directory for an embedded store. */
export const tempDir = () => join(mkdtempSync(join(tmpdir(), "pipetrail-cli-")), "store")

import { randomUUID } from "node:crypto"
import pg from "pg"

const ci = process.env.CI === "true" || process.env.CI === "1"
/** PostgreSQL for the end-to-end suite: required under CI, used whenever configured. */
export const postgresUrl =
  process.env.PIPETRAIL_TEST_DATABASE_URL ?? (ci ? "postgres://postgres@127.0.0.1:5432/test" : undefined)

/** Creates a fresh database and returns its URL and a drop function. */
export const freshPostgres = async (): Promise<{ url: string; drop: () => Promise<void> }> => {
  const name = `pipetrail_cli_${randomUUID().replaceAll("-", "")}`
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: postgresUrl })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
  await admin(`create database ${name}`)
  const url = new URL(postgresUrl!)
  url.pathname = `/${name}`
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) }
}

/** Runs one query on a fresh connection to `url` and returns its rows. */
export const query = async <R extends Record<string, unknown>>(
  url: string,
  text: string,
  values: Array<unknown> = []
): Promise<Array<R>> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end()
  }
}
