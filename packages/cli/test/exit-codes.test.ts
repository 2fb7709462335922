import { createServer } from "node:net"
import { Emulator } from "@pipetrail/emulator"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { noStack } from "./suite.js"
import { freshPostgres, postgresUrl, query, run, start, tempDir, until } from "./utils.js"

// Invariants: an exit code says what happened (0 done, 1 nothing done, 2 refused input before any
// work, 3 partly done, 130/143 stopped by a signal, `watch` excepted); a run's recorded counts equal
// the rows it wrote, however it ends; a signal cancels a running statement on the server.

/** The backends running a statement tagged with `tag` (a comment in its text), other than the asking one. */
const activeWith = (url: string, tag: string) =>
  query<{ pid: number }>(
    url,
    "select pid from pg_stat_activity where query like $1 and state = 'active' and pid <> pg_backend_pid()",
    [`%${tag}%`]
  ).then((r) => r.map((row) => row.pid))

/** Waits (up to `ms`) until `check` holds. */
const poll = async (check: () => Promise<boolean>, ms: number) => {
  const deadline = Date.now() + ms
  while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
}

/** A port nothing listens on. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

describe("inputs refused with exit 2 before any work", { timeout: 120_000 }, () => {
  it("out-of-range and malformed values name the value and the rule", async () => {
    const down = `http://127.0.0.1:${await closedPort()}`
    const env = { PIPETRAIL_DATA_DIR: tempDir() }
    const cases: Array<[Array<string>, RegExp]> = [
      [["executions", "--since", "99999999d"], /invalid --since "99999999d": reaches back more than 100 years/],
      [
        ["snapshot", "--all-pipelines", "--since", "99999999d", "--endpoint-url", down],
        /reaches back more than 100 years/
      ],
      [["snapshot", "--all-pipelines", "--rate", "1e-9", "--endpoint-url", down], /--rate must be 0.01 to 10000/],
      [["watch", "--all-pipelines", "--ticks", "0", "--endpoint-url", down], /--ticks must be at least 1, got 0/],
      [["watch", "--all-pipelines", "--ticks", "-1", "--endpoint-url", down], /--ticks must be at least 1, got -1/],
      [["executions", "--log-level", "trace"], /invalid --log-level "trace": expected one of debug, info/],
      [["snapshot", "--all-pipelines", "--source", "", "--endpoint-url", down], /invalid --source ""/],
      [["executions", "--data-dir", ""], /the data directory is empty/],
      [["executions", "--data-dir", "/proc/1/pipetrail"], /under \/proc, a kernel file system/],
      [["snapshot", "--all-pipelines", "--endpoint-url", "not a url"], /--endpoint-url must be an http or https URL/],
      [["emulator", "--port", "0", "--throttle-rate", "0.5"], /bucket must hold at least 1 token/],
      [["emulator", "--port", "0", "--throttle-rate", "-1"], /throttle rate must be more than 0/],
      [["sql", "select 1", "--timeout", "0"], /--timeout must be 1 to 86400 seconds, got 0/]
    ]
    for (const [args, message] of cases) {
      const result = await run(args, env, 30_000)
      assert.strictEqual(result.code, 2, `${args.join(" ")}: ${result.stderr}`)
      assert.match(result.stderr, message, args.join(" "))
      noStack(result.stderr)
    }
    // Nothing was recorded by a refused job.
    const runs = await run(["sql", "select count(*)::int as n from snapshot_run", "-o", "json"], env)
    assert.deepStrictEqual(JSON.parse(runs.stdout), [{ n: 0 }])
    // A statement that starts with a comment goes after --.
    const comment = await run(["sql", "-o", "json", "--", "-- a note\nselect 1 as one"], env)
    assert.strictEqual(comment.code, 0, comment.stderr)
    assert.deepStrictEqual(JSON.parse(comment.stdout), [{ one: 1 }])
  })
})

describe.skipIf(postgresUrl === undefined)(
  "exit codes, signals and run records (PostgreSQL)",
  { timeout: 240_000 },
  () => {
    let emulator: Emulator.Emulator
    let url: string
    let drop: () => Promise<void>
    let env: Record<string, string>

    beforeAll(async () => {
      emulator = await Emulator.start({ scenario: { seed: 71, pipelines: 2, executionsPerPipeline: 30, running: 0 } })
      const db = await freshPostgres()
      url = db.url
      drop = db.drop
      env = { PIPETRAIL_ENDPOINT_URL: emulator.url, PIPETRAIL_DATABASE_URL: url }
    })

    afterAll(async () => {
      await emulator.close()
      await drop()
    })

    it("a job where nothing could be fetched exits 1, with --pipeline as with --all-pipelines", async () => {
      emulator.setFaults({ forceError: { type: "AccessDeniedException", status: 400, message: "denied" } })
      try {
        const name = emulator.pipelines()[0]!.name
        for (const selection of [["--pipeline", name], ["--all-pipelines"]]) {
          const result = await run(["snapshot", ...selection, "--source", "denied", "--max-attempts", "1"], env)
          assert.strictEqual(result.code, 1, `${selection.join(" ")}: ${result.stderr}`)
          noStack(result.stderr)
        }
      } finally {
        emulator.setFaults({})
      }
    })

    it("snapshot stopped by SIGTERM exits 143, and its run counts exactly the rows it wrote", async () => {
      emulator.setFaults({ latency: 40 })
      const job = start(
        [
          "snapshot",
          "--all-pipelines",
          "--source",
          "stopped",
          "--batch-size",
          "4",
          "--concurrency",
          "2",
          "--log-level",
          "info"
        ],
        env
      )
      const deadline = Date.now() + 60_000
      while (Date.now() < deadline) {
        const [{ n }] = (await query<{ n: number }>(
          url,
          "select count(*)::int as n from execution_snapshot where source = 'stopped'"
        )) as [{ n: number }]
        if (n >= 8) break
        await new Promise((r) => setTimeout(r, 50))
      }
      job.child.kill("SIGTERM")
      const result = await job.done
      emulator.setFaults({})
      assert.strictEqual(result.code, 143, result.stderr)
      const [record] = await query<{ outcome: string; new_snapshots: number; written: number }>(
        url,
        `select r.outcome, r.new_snapshots,
         (select count(*)::int from execution_snapshot s where s.first_run_id = r.id) as written
       from snapshot_run r where r.source = 'stopped'`
      )
      assert.strictEqual(record!.outcome, "interrupted")
      assert.strictEqual(record!.new_snapshots, record!.written)
      assert.isBelow(record!.written, 60)
      assert.match(result.stderr, /run \d+ started/)
    })

    it("logs each run's start, each pipeline's own counts and the end at --log-level info", async () => {
      const result = await run(["snapshot", "--all-pipelines", "--source", "logged", "--log-level", "info"], env)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.match(result.stderr, /run \d+ started: every pipeline/)
      for (const p of emulator.pipelines())
        assert.match(result.stderr, new RegExp(`${p.name}: 30 fetched, 30 new, 0 unchanged`))
      assert.match(result.stderr, /run \d+ succeeded: 60 fetched, 60 new/)
      // Not a terminal: by default a plain line per pipeline with that pipeline's own counts (the
      // second run finds every state stored); nothing with --quiet or --progress off; none of these
      // lines among JSON logs.
      const plain = await run(["snapshot", "--all-pipelines", "--source", "logged"], env)
      assert.strictEqual(plain.code, 0, plain.stderr)
      assert.deepStrictEqual(
        plain.stderr.trim().split("\n").sort(),
        emulator
          .pipelines()
          .map((p) => `${p.name}: 30 fetched, 0 new, 30 unchanged`)
          .sort()
      )
      for (const args of [["--quiet"], ["--progress", "off"]]) {
        const quiet = await run(["snapshot", "--all-pipelines", "--source", "logged", ...args], env)
        assert.strictEqual(quiet.code, 0, quiet.stderr)
        assert.strictEqual(quiet.stderr, "", args.join(" "))
      }
      const json = await run(["snapshot", "--all-pipelines", "--source", "logged", "--log-format", "json"], env)
      assert.strictEqual(json.stderr, "")
      const forced = await run(
        ["snapshot", "--all-pipelines", "--source", "logged", "--log-format", "json", "--progress", "plain"],
        env
      )
      assert.strictEqual(forced.stderr.trim().split("\n").length, emulator.pipelines().length, forced.stderr)
    })

    it("watch goes on after failed ticks, backs off, and its exit code reflects the ticks", async () => {
      const port = await closedPort()
      const down = { ...env, PIPETRAIL_ENDPOINT_URL: `http://127.0.0.1:${port}` }
      const failing = await run(
        ["watch", "--all-pipelines", "--every", "1s", "--ticks", "3", "--source", "down", "--max-attempts", "1"],
        down
      )
      assert.strictEqual(failing.code, 1, failing.stderr)
      assert.strictEqual(failing.stderr.match(/tick failed/g)?.length, 3, failing.stderr)
      assert.match(failing.stderr, /all 3 ticks failed/)

      // The endpoint comes up after the first tick: the watch recovers, and exits 3 (one tick failed).
      const watch = start(
        ["watch", "--all-pipelines", "--every", "1s", "--ticks", "3", "--source", "recovers", "--max-attempts", "1"],
        down
      )
      await until(() => watch.stderr().includes("tick failed"), 30_000, "the first failed tick")
      const late = await Emulator.start({ port, scenario: { seed: 71, pipelines: 2, executionsPerPipeline: 30 } })
      try {
        const result = await watch.done
        assert.strictEqual(result.code, 3, result.stderr)
        assert.match(result.stderr, /1 of 3 ticks failed or were partial/)
        assert.strictEqual(result.stdout.match(/succeeded/g)?.length, 2, result.stdout)
      } finally {
        await late.close()
      }
    })

    it("sql works through a login that can only read (a member of pipetrail_reader)", async () => {
      const role = `pipetrail_auditor_${process.pid}`
      const database = new URL(url).pathname.slice(1)
      const migrated = await run(["db", "migrate"], env)
      assert.strictEqual(migrated.code, 0, migrated.stderr)
      await query(url, `create role ${role} login in role pipetrail_reader`)
      await query(url, `grant connect on database ${database} to ${role}`)
      try {
        const reader = new URL(url)
        reader.username = role
        const readerEnv = { ...env, PIPETRAIL_DATABASE_URL: reader.toString() }
        const result = await run(
          ["sql", "select current_user as who, count(*)::int as n from execution_head", "-o", "json"],
          readerEnv
        )
        assert.strictEqual(result.code, 0, result.stderr)
        assert.strictEqual(JSON.parse(result.stdout)[0].who, "pipetrail_reader")
        const listed = await run(["executions", "--limit", "1"], readerEnv)
        assert.strictEqual(listed.code, 0, listed.stderr)
        // A job needs to write: through this login it fails, and the store is unchanged.
        const before = await query(url, "select count(*)::int as n from snapshot_run")
        const job = await run(["snapshot", "--all-pipelines", "--source", "reader"], readerEnv)
        assert.strictEqual(job.code, 1, job.stderr)
        assert.match(job.stderr, /permission denied/)
        assert.deepStrictEqual(await query(url, "select count(*)::int as n from snapshot_run"), before)
      } finally {
        await query(url, `drop owned by ${role}`)
        await query(url, `drop role ${role}`)
      }
    })

    it("sql whose backend is terminated from outside fails with one line, no crash", async () => {
      const statement = "select count(*) from generate_series(1, 2000000000) as g -- pipetrail-terminate-test"
      const sql = start(["sql", statement], env)
      await poll(async () => (await activeWith(url, "pipetrail-terminate-test")).length > 0, 30_000)
      await query(url, "select pg_terminate_backend($1)", [(await activeWith(url, "pipetrail-terminate-test"))[0]])
      const result = await sql.done
      assert.strictEqual(result.code, 1, result.stderr)
      assert.match(result.stderr, /terminat/)
      assert.strictEqual(result.stderr.trim().split("\n").length, 1, result.stderr)
      noStack(result.stderr)
      assert.notMatch(result.stderr, /Unhandled 'error' event/)
    })

    it("sql stopped by SIGINT cancels the statement on the server and exits 130", async () => {
      const statement = "select count(*) from generate_series(1, 2000000000) as g -- pipetrail-cancel-test"
      const sql = start(["sql", statement], env)
      const running = () => activeWith(url, "pipetrail-cancel-test").then((pids) => pids.length)
      await poll(async () => (await running()) > 0, 30_000)
      assert.strictEqual(await running(), 1, "the statement never started")
      sql.child.kill("SIGINT")
      const result = await sql.done
      assert.strictEqual(result.code, 130, result.stderr)
      noStack(result.stderr)
      await poll(async () => (await running()) === 0, 5_000)
      assert.strictEqual(await running(), 0, "the statement still runs on the server")
    })
  }
)
