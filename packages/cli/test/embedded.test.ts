import { createHash } from "node:crypto"
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync
} from "node:fs"
import { connect, createServer } from "node:net"
import { join } from "node:path"
import { Emulator } from "@pipetrail/emulator"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { noStack } from "./suite.js"
import { run, start, tempDir, until } from "./utils.js"

// Invariants: one process at a time opens an embedded store's files, and every other pipetrail
// process works through it with the same guarantees; a damaged store is never opened as if it were whole, never silently replaced, and always
// refused with one actionable line; a store's files are owner-only.

/** Every file and directory below `dir`. */
const walk = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? [join(dir, e.name), ...walk(join(dir, e.name))] : [join(dir, e.name)]
  )

describe("the embedded store", { timeout: 240_000 }, () => {
  let emulator: Emulator.Emulator
  let env: Record<string, string>
  let store: string

  const sql = async (dataDir: string, query: string) => {
    const result = await run(["sql", query, "-o", "json", "--data-dir", dataDir], env)
    assert.strictEqual(result.code, 0, result.stderr)
    return JSON.parse(result.stdout) as Array<Record<string, unknown>>
  }
  const states = (dataDir: string) =>
    sql(dataDir, "select pipeline_execution_id, seq, content_hash, seen_count from execution_snapshot order by 1, 2")

  beforeAll(async () => {
    emulator = await Emulator.start({ scenario: { seed: 5, pipelines: 3, executionsPerPipeline: 30, running: 2 } })
    env = { PIPETRAIL_ENDPOINT_URL: emulator.url, PIPETRAIL_SOURCE: "embedded-test" }
    store = tempDir()
    const first = await run(["snapshot", "--all-pipelines", "--data-dir", store], env)
    assert.strictEqual(first.code, 0, first.stderr)
  })

  afterAll(async () => {
    await emulator.close()
  })

  it("two writers started together both run, through one holder, and the store equals one run's seen twice", async () => {
    const reference = tempDir()
    const alone = await run(["snapshot", "--all-pipelines", "--data-dir", reference], env)
    assert.strictEqual(alone.code, 0, alone.stderr)

    const shared = tempDir()
    const a = start(["snapshot", "--all-pipelines", "--data-dir", shared], env)
    const b = start(["snapshot", "--all-pipelines", "--data-dir", shared], env)
    const [ra, rb] = await Promise.all([a.done, b.done])
    assert.deepStrictEqual([ra.code, rb.code], [0, 0], `${ra.stderr}\n${rb.stderr}`)
    const once = await states(reference)
    const twice = await states(shared)
    assert.deepStrictEqual(
      twice,
      once.map((s) => ({ ...s, seen_count: 2 }))
    )
    const runs = await sql(shared, "select outcome, fetched, new_snapshots + unchanged as stored from snapshot_run")
    assert.deepStrictEqual(
      runs.map((r) => [r.outcome, r.fetched, r.stored]),
      [
        ["succeeded", once.length, once.length],
        ["succeeded", once.length, once.length]
      ]
    )
    const check = await run(["db", "check", "--data-dir", shared], env)
    assert.strictEqual(check.code, 0, check.stdout + check.stderr)
  })

  it("a reader while watch holds the store is served; after kill -9 of the holder the store opens and checks clean", async () => {
    const watch = start(["watch", "--all-pipelines", "--every", "1h", "--data-dir", store], env)
    await until(
      () => watch.stdout().includes("succeeded") || watch.child.exitCode !== null,
      60_000,
      "watch's first tick"
    )
    const reader = await run(["executions", "--data-dir", store, "-o", "json", "--limit", "1000"], env, 20_000)
    assert.strictEqual(reader.code, 0, reader.stderr)
    assert.strictEqual(JSON.parse(reader.stdout).length, 90)
    watch.child.kill("SIGKILL")
    await watch.done
    const check = await run(["db", "check", "--data-dir", store], env)
    assert.strictEqual(check.code, 0, check.stdout + check.stderr)
  })

  it("a process served by a holder that is killed takes the store over and goes on", async () => {
    const holder = start(["watch", "--all-pipelines", "--every", "1h", "--data-dir", store], env)
    await until(() => holder.stdout().includes("succeeded"), 60_000, "the holder's first tick")
    const served = start(["watch", "--all-pipelines", "--every", "1s", "--ticks", "4", "--data-dir", store], env)
    await until(() => served.stdout().includes("succeeded"), 60_000, "the served watch's first tick")
    holder.child.kill("SIGKILL")
    const result = await served.done
    assert.strictEqual(result.code, 0, result.stderr)
    assert.strictEqual(result.stdout.match(/succeeded/g)?.length, 4, result.stdout)
    const check = await run(["db", "check", "--data-dir", store], env)
    assert.strictEqual(check.code, 0, check.stdout + check.stderr)
  })

  it("a process without the token can neither crash the holder nor be served; a squatter on the socket is not believed", async () => {
    const name = `\0pipetrail-store-${createHash("sha256").update(realpathSync(store)).digest("hex").slice(0, 40)}`
    const send = (bytes: Buffer) =>
      new Promise<void>((resolve) => {
        const socket = connect({ path: name }, () => socket.write(bytes))
        socket.on("error", () => resolve())
        socket.on("close", () => resolve())
        setTimeout(() => {
          socket.destroy()
          resolve()
        }, 1_000)
      })
    const watch = start(["watch", "--all-pipelines", "--every", "1h", "--data-dir", store], env)
    await until(() => watch.stdout().includes("succeeded"), 60_000, "watch's first tick")
    for (const bytes of [
      Buffer.from("00000004ff0f9901", "hex"), // a v8 frame that does not deserialize
      Buffer.concat([Buffer.from("ffffffff", "hex"), Buffer.alloc(64 * 1024)]), // an endless frame
      Buffer.concat([Buffer.from("0000000f", "hex"), Buffer.from('{"hello":"abc"}')]),
      Buffer.concat([Buffer.from("00000010", "hex"), Buffer.from('{"proof":"0000"}')])
    ]) {
      await send(bytes)
    }
    assert.strictEqual(watch.child.exitCode, null, watch.stderr())
    const served = await run(["executions", "--data-dir", store, "--limit", "1"], env, 30_000)
    assert.strictEqual(served.code, 0, served.stderr)
    watch.child.kill("SIGKILL")
    await watch.done

    // The holder is gone; another process takes the socket's name and answers with a made-up proof.
    let heard = ""
    const squatter = createServer((socket) => {
      socket.on("data", (chunk) => {
        heard += chunk.toString("latin1")
        const body = Buffer.from(JSON.stringify({ nonce: "n", proof: "forged" }))
        const header = Buffer.alloc(4)
        header.writeUInt32BE(body.length)
        socket.write(Buffer.concat([header, body]))
      })
    })
    await new Promise<void>((resolve) => squatter.listen({ path: name }, () => resolve()))
    try {
      const fooled = await run(["executions", "--data-dir", store], env, 30_000)
      assert.strictEqual(fooled.code, 1, fooled.stderr)
      assert.match(fooled.stderr, /could not prove it holds the store, so nothing was sent to it/)
      const token = JSON.parse(readFileSync(join(store, ".pipetrail.lock"), "utf8")).token as string
      assert.notInclude(heard, token)
      assert.notMatch(heard, /select|insert/i)
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()))
    }
    const check = await run(["db", "check", "--data-dir", store], env)
    assert.strictEqual(check.code, 0, check.stdout + check.stderr)
  })

  it("keeps every file owner-only", () => {
    for (const path of walk(store)) {
      assert.strictEqual(statSync(path).mode & 0o077, 0, `${path} is ${(statSync(path).mode & 0o777).toString(8)}`)
    }
  })

  it("db check finds a truncated table that reads as a shorter one, and exits 1", async () => {
    const [{ path }] = (await sql(store, "select pg_relation_filepath('execution_snapshot') as path")) as Array<{
      path: string
    }>
    for (const size of [0, 8192]) {
      const copy = tempDir()
      cpSync(store, copy, { recursive: true })
      truncateSync(join(copy, path), size)
      const check = await run(["db", "check", "--data-dir", copy, "-o", "json"], env)
      assert.strictEqual(check.code, 1, check.stderr)
      const report = JSON.parse(check.stdout) as Array<{ check: string; result: string }>
      assert.isTrue(
        report.some((r) => r.check.startsWith("every head points at an existing snapshot") && r.result === "FAILED"),
        check.stdout
      )
      assert.match(check.stderr, /the store failed its checks/)
    }
  })

  it("a store that lost PG_VERSION is refused and left as it is, never re-created empty", async () => {
    const copy = tempDir()
    cpSync(store, copy, { recursive: true })
    unlinkSync(join(copy, "PG_VERSION"))
    const files = walk(copy).length
    const result = await run(["executions", "--data-dir", copy], env)
    assert.strictEqual(result.code, 1)
    assert.match(
      result.stderr,
      /is not empty and holds no store \(no PG_VERSION file\): refusing to create a store there/
    )
    assert.strictEqual(walk(copy).length, files)
    assert.isFalse(existsSync(join(copy, "PG_VERSION")))
  })

  it("a zeroed control file or WAL segment fails with one actionable line, never Aborted()", async () => {
    for (const file of ["global/pg_control", "pg_wal/000000010000000000000001"]) {
      const copy = tempDir()
      cpSync(store, copy, { recursive: true })
      const target = join(copy, file)
      writeFileSync(target, Buffer.alloc(statSync(target).size))
      const result = await run(["sql", "select 1", "--data-dir", copy], env)
      assert.strictEqual(result.code, 1, file)
      assert.match(result.stderr, /could not be opened, it looks damaged .*Restore a backup/, file)
      assert.notMatch(result.stderr, /Aborted\(\)|ASSERTIONS/, file)
      assert.strictEqual(result.stderr.trim().split("\n").length, 1, result.stderr)
      noStack(result.stderr)
    }
  })

  it("refuses a directory that is not a store, a kernel file system and an empty path, touching nothing", async () => {
    const other = tempDir()
    mkdirSync(other, { recursive: true })
    writeFileSync(join(other, "notes.txt"), "mine")
    const notStore = await run(["executions", "--data-dir", other], env)
    assert.strictEqual(notStore.code, 1)
    assert.match(notStore.stderr, /holds no store/)
    assert.deepStrictEqual(readdirSync(other), ["notes.txt"])
    const proc = await run(["executions", "--data-dir", "/proc/self/pipetrail"], env, 20_000)
    assert.strictEqual(proc.code, 2, proc.stderr)
    assert.match(proc.stderr, /under \/proc, a kernel file system/)
    const empty = await run(["executions", "--data-dir", ""], env, 20_000)
    assert.strictEqual(empty.code, 2, empty.stderr)
    const file = join(other, "notes.txt")
    const notDir = await run(["executions", "--data-dir", file], env, 20_000)
    assert.strictEqual(notDir.code, 2, notDir.stderr)
    assert.match(notDir.stderr, /is not a directory/)
    // A store reached through a symbolic link is the same store.
    const link = join(tempDir(), "..", "link")
    symlinkSync(store, link)
    const linked = await run(["executions", "--data-dir", link, "-o", "json", "--limit", "1000"], env)
    assert.strictEqual(linked.code, 0, linked.stderr)
    assert.strictEqual(JSON.parse(linked.stdout).length, 90)
  })

  it("db backup and db restore give back the same store; neither overwrites", async () => {
    const file = join(tempDir(), "..", "backup.tar.gz")
    const backup = await run(["db", "backup", file, "--data-dir", store], env)
    assert.strictEqual(backup.code, 0, backup.stderr)
    assert.strictEqual(statSync(file).mode & 0o077, 0)
    const again = await run(["db", "backup", file, "--data-dir", store], env)
    assert.strictEqual(again.code, 2, again.stderr)
    const restored = tempDir()
    const restore = await run(["db", "restore", file, "--data-dir", restored], env)
    assert.strictEqual(restore.code, 0, restore.stderr)
    assert.deepStrictEqual(await states(restored), await states(store))
    const over = await run(["db", "restore", file, "--data-dir", store], env)
    assert.strictEqual(over.code, 1)
    assert.match(over.stderr, /restore into a new or empty directory/)
  })
})
