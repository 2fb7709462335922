import { Emulator } from "@pipetrail/emulator"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { noStack } from "./suite.js"
import { freshPostgres, postgresUrl, query, run, start } from "./utils.js"

/** Whether a text holds a control character other than tab and newline (what a terminal would act on). */
const hasControl = (text: string) =>
  [...text].some((c) => {
    const code = c.codePointAt(0)!
    return (code < 0x20 && code !== 0x09 && code !== 0x0a) || (code >= 0x7f && code <= 0x9f)
  })

/** The content of a source's history: which states were stored, independent of when or how often. */
const stateOf = (url: string, source: string) =>
  query<{ id: string; seq: number; hash: string }>(
    url,
    "select pipeline_execution_id as id, seq, content_hash as hash from execution_snapshot where source = $1 order by 1, 2",
    [source]
  ).then((rows) => rows.map((r) => `${r.id}#${r.seq}#${r.hash}`))

/** No half-written batch: every head points at its latest snapshot, and every history is 1..n without gaps. */
const assertConsistent = async (url: string, source: string) => {
  const [broken] = await query<{ heads: number; gaps: number; orphans: number }>(
    url,
    `select
       (select count(*)::int from execution_head h left join execution_snapshot s on s.id = h.snapshot_id
         where h.source = $1 and (s.id is null or s.seq <> h.seq or s.content_hash <> h.content_hash)) as heads,
       (select count(*)::int from (select max(seq) as m, count(*) as c from execution_snapshot where source = $1
         group by pipeline_name, pipeline_execution_id) x where m <> c) as gaps,
       (select count(*)::int from execution_snapshot s where source = $1 and not exists (
         select 1 from execution_head h where h.source = s.source and h.pipeline_name = s.pipeline_name
           and h.pipeline_execution_id = s.pipeline_execution_id)) as orphans`,
    [source]
  )
  assert.deepStrictEqual(broken, { heads: 0, gaps: 0, orphans: 0 })
  // And every state is accounted for by the observation log, sighting for sighting.
  const [unaccounted] = await query<{ n: number }>(
    url,
    `select count(*)::int as n from execution_head h
       join lateral (select coalesce(sum(seen), 0) as n from execution_observation o where o.head_id = h.id) o on true
       join lateral (select coalesce(sum(seen_count), 0) as n from execution_snapshot s where s.source = h.source
         and s.pipeline_name = h.pipeline_name and s.pipeline_execution_id = h.pipeline_execution_id) s on true
     where h.source = $1 and o.n <> s.n`,
    [source]
  )
  assert.strictEqual(unaccounted!.n, 0)
}

describe.skipIf(postgresUrl === undefined)(
  "reliability: faults, crashes and concurrency (PostgreSQL)",
  { timeout: 240_000 },
  () => {
    let emulator: Emulator.Emulator
    let url: string
    let drop: () => Promise<void>
    let env: Record<string, string>
    let reference: Array<string>

    beforeAll(async () => {
      emulator = await Emulator.start({ scenario: { seed: 61, pipelines: 3, executionsPerPipeline: 40, running: 0 } })
      const db = await freshPostgres()
      url = db.url
      drop = db.drop
      env = { PIPETRAIL_ENDPOINT_URL: emulator.url, PIPETRAIL_DATABASE_URL: url }
      const undisturbed = await run(["snapshot", "--all-pipelines", "--source", "reference"], env)
      assert.strictEqual(undisturbed.code, 0, undisturbed.stderr)
      reference = (await stateOf(url, "reference")).map((s) => s)
      assert.strictEqual(reference.length, 120)
    })

    afterAll(async () => {
      await emulator.close()
      await drop()
    })

    it("a job under 30% throttling, 5% 5xx, dropped connections and latency spikes stores every execution exactly once", async () => {
      emulator.resetStats()
      emulator.setFaults({
        throttleRate: 0.3,
        serverErrorRate: 0.05,
        dropConnectionRate: 0.05,
        latency: { min: 0, max: 250 }
      })
      const result = await run(
        ["snapshot", "--all-pipelines", "--source", "faults", "--rate", "100", "--max-attempts", "30", "-o", "json"],
        env
      )
      const stats = emulator.stats()
      emulator.setFaults({})
      emulator.resetStats()
      process.stderr.write(
        `[reliability] faults: ${JSON.stringify({ requests: stats.requests, throttled: stats.throttled, serverErrors: stats.serverErrors, dropped: stats.dropped })}\n`
      )
      assert.strictEqual(result.code, 0, result.stderr)
      assert.include(JSON.parse(result.stdout), {
        fetched: 120,
        newSnapshots: 120,
        unchanged: 0,
        rejected: 0,
        failed: 0
      })
      assert.isAbove(stats.throttled, 0)
      assert.isAbove(stats.serverErrors + stats.dropped, 0)
      assert.deepStrictEqual(await stateOf(url, "faults"), reference)
      const [seen] = await query<{ max: number }>(
        url,
        "select max(seen_count)::int as max from execution_snapshot where source = 'faults'"
      )
      assert.strictEqual(seen!.max, 1)
      await assertConsistent(url, "faults")
    })

    it("the database connection terminated mid-job: no half-written batch, and a rerun converges", async () => {
      emulator.setFaults({ latency: 40 })
      const job = start(
        ["snapshot", "--all-pipelines", "--source", "terminated", "--batch-size", "5", "--concurrency", "2"],
        env
      )
      let terminated = 0
      const deadline = Date.now() + 60_000
      while (terminated === 0 && Date.now() < deadline) {
        const [count] = await query<{ n: number }>(
          url,
          "select count(*)::int as n from execution_snapshot where source = 'terminated'"
        )
        if (count!.n >= 10) {
          const killed = await query<{ t: boolean }>(
            url,
            "select pg_terminate_backend(pid) as t from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
          )
          terminated = killed.filter((k) => k.t).length
        } else {
          await new Promise((r) => setTimeout(r, 50))
        }
      }
      assert.isAbove(terminated, 0, "no backend was terminated")
      const result = await job.done
      process.stderr.write(`[reliability] terminated ${terminated} backends mid-job; the job exited ${result.code}\n`)
      emulator.setFaults({})
      assert.include([0, 1], result.code, result.stderr)
      noStack(result.stderr)
      if (result.code === 1) assert.match(result.stderr, /^pipetrail: database/m)
      await assertConsistent(url, "terminated")
      const rerun = await run(["snapshot", "--all-pipelines", "--source", "terminated"], env)
      assert.strictEqual(rerun.code, 0, rerun.stderr)
      assert.deepStrictEqual(await stateOf(url, "terminated"), reference)
    })

    it("the CLI killed with SIGKILL mid-job: a rerun converges to the undisturbed state", async () => {
      emulator.setFaults({ latency: 40 })
      const job = start(
        ["snapshot", "--all-pipelines", "--source", "killed", "--batch-size", "5", "--concurrency", "2"],
        env
      )
      const deadline = Date.now() + 60_000
      for (;;) {
        const [count] = await query<{ n: number }>(
          url,
          "select count(*)::int as n from execution_snapshot where source = 'killed'"
        )
        if (count!.n >= 10 || Date.now() > deadline) break
        await new Promise((r) => setTimeout(r, 50))
      }
      job.child.kill("SIGKILL")
      const killed = await job.done
      emulator.setFaults({})
      assert.strictEqual(killed.signal, "SIGKILL")
      const partial = await stateOf(url, "killed")
      assert.isBelow(partial.length, reference.length)
      await assertConsistent(url, "killed")
      // No partial batch: 40 executions per pipeline in batches of 5, each batch whole or absent.
      assert.strictEqual(partial.length % 5, 0, `${partial.length} rows survived the kill`)
      const [run0] = await query<{ outcome: string; finished: boolean }>(
        url,
        "select outcome, finished_at is not null as finished from snapshot_run where source = 'killed' order by id limit 1"
      )
      assert.deepStrictEqual(run0, { outcome: "running", finished: false })
      const rerun = await run(["snapshot", "--all-pipelines", "--source", "killed"], env)
      assert.strictEqual(rerun.code, 0, rerun.stderr)
      assert.deepStrictEqual(await stateOf(url, "killed"), reference)
    })

    it("four snapshot processes on overlapping selections end with one job's rows and exact seen counts", async () => {
      const [a, b, c] = emulator.pipelines().map((p) => p.name) as [string, string, string]
      const selections = [
        [a, b],
        [b, c],
        [a, c],
        [a, b, c]
      ]
      const results = await Promise.all(
        selections.map((names) =>
          run(["snapshot", "--source", "four", "--batch-size", "7", ...names.flatMap((n) => ["--pipeline", n])], env)
        )
      )
      for (const r of results) assert.strictEqual(r.code, 0, r.stderr)
      assert.deepStrictEqual(await stateOf(url, "four"), reference)
      const seen = await query<{ pipeline_name: string; min: number; max: number }>(
        url,
        "select pipeline_name, min(seen_count)::int as min, max(seen_count)::int as max from execution_snapshot where source = 'four' group by 1 order by 1"
      )
      for (const row of seen) assert.deepStrictEqual([row.min, row.max], [3, 3], row.pipeline_name)
      await assertConsistent(url, "four")
    })

    it("watch receiving SIGTERM mid-tick exits 0 after the current write", async () => {
      emulator.setFaults({ latency: 60 })
      const watch = start(
        ["watch", "--all-pipelines", "--every", "1h", "--source", "sigterm", "--batch-size", "5", "--concurrency", "2"],
        env
      )
      const deadline = Date.now() + 60_000
      for (;;) {
        const [count] = await query<{ n: number }>(
          url,
          "select count(*)::int as n from execution_snapshot where source = 'sigterm'"
        )
        if (count!.n >= 5 || Date.now() > deadline) break
        await new Promise((r) => setTimeout(r, 50))
      }
      watch.child.kill("SIGTERM")
      const result = await watch.done
      emulator.setFaults({})
      assert.strictEqual(result.code, 0, result.stderr)
      const [stored] = await query<{ n: number }>(
        url,
        "select count(*)::int as n from execution_snapshot where source = 'sigterm'"
      )
      assert.isBelow(stored!.n, 120, "the tick was not interrupted mid-way")
      assert.strictEqual(stored!.n % 5, 0, "a batch was cut in half")
      const runs = await query<{ outcome: string; finished: boolean }>(
        url,
        "select outcome, finished_at is not null as finished from snapshot_run where source = 'sigterm'"
      )
      assert.deepStrictEqual(runs, [{ outcome: "interrupted", finished: true }])
      await assertConsistent(url, "sigterm")
    })

    it("a password in the database URL appears in no output, log or stored row, even at debug level", async () => {
      const password = "Pw-7f3a9c1e-Secret"
      const withPassword = new URL(url)
      withPassword.username = "postgres"
      withPassword.password = password
      const result = await run(
        ["snapshot", "--all-pipelines", "--source", "secret", "--log-level", "debug", "--max-executions", "3"],
        { ...env, PIPETRAIL_DATABASE_URL: withPassword.toString() }
      )
      assert.strictEqual(result.code, 0, result.stderr)
      assert.notInclude(result.stdout + result.stderr, password)
      const dump = await query<{ t: string }>(
        url,
        `select string_agg(x::text, '') as t from (
         select row_to_json(r)::text as x from snapshot_run r
         union all select row_to_json(s)::text from execution_snapshot s
         union all select row_to_json(h)::text from execution_head h
         union all select row_to_json(j)::text from rejected_response j) all_rows`
      )
      assert.notInclude(dump[0]!.t, password)
    })

    it("filter values with SQL metacharacters are inert", async () => {
      const evil = "x'; drop table execution_snapshot; --"
      // A source is free text: it reaches SQL as a parameter and matches nothing.
      const result = await run(["executions", "--source", evil, "-o", "json"], env)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.deepStrictEqual(JSON.parse(result.stdout), [])
      // A pipeline name is parsed where it comes in: this one is refused before any query.
      const refused = await run(["executions", "--pipeline", evil, "-o", "json"], env)
      assert.strictEqual(refused.code, 2, refused.stderr)
      assert.include(refused.stderr, "invalid pipeline name")
      assert.include(refused.stderr, JSON.stringify(evil))
      const [exists] = await query<{ n: number }>(url, "select count(*)::int as n from execution_snapshot")
      assert.isAbove(exists!.n, 0)
    })

    it("stored terminal escape sequences are printed safely in tables", async () => {
      const base = emulator.executions()[0]!
      const id = "e5c4a3b2-0000-4000-8000-00000000e5c4"
      const evil = "\u001b]0;pwned\u0007\u001b[2J\u001b[31mred\rover"
      emulator.addExecution({
        ...base,
        pipelineExecutionId: id,
        steps: [{ at: 0, status: "Failed", statusSummary: evil }],
        trigger: { triggerType: "Webhook", triggerDetail: evil }
      })
      const get = await run(["get", base.pipelineName, id, "--source", "escapes"], env)
      assert.strictEqual(get.code, 0, get.stderr)
      for (const args of [
        ["executions", "--source", "escapes"],
        ["history", id, "--source", "escapes"]
      ]) {
        const table = await run(args, env)
        assert.strictEqual(table.code, 0, table.stderr)
        assert.isFalse(hasControl(table.stdout), args.join(" "))
      }
      assert.isFalse(hasControl(get.stdout))
      assert.include(get.stdout, "\\x1b]0;pwned\\x07")
      const json = await run(["get", base.pipelineName, id, "--no-store", "-o", "json"], env)
      assert.strictEqual(JSON.parse(json.stdout).statusSummary, evil)
    })

    it("a multi-megabyte response is fetched and stored whole", async () => {
      const base = emulator.executions()[1]!
      const id = "b1b2b3b4-0000-4000-8000-0000000000bb"
      const summary = `${"commit message line\n".repeat(250_000)}end`
      emulator.addExecution({
        ...base,
        pipelineExecutionId: id,
        steps: [{ at: 0, status: "Succeeded", statusSummary: summary }]
      })
      const result = await run(["get", base.pipelineName, id, "--source", "big", "-o", "json"], env)
      assert.strictEqual(result.code, 0, result.stderr)
      const [row] = await query<{ n: number }>(
        url,
        "select length(status_summary)::int as n from execution_snapshot where source = 'big'"
      )
      assert.strictEqual(row!.n, summary.length)
    })
  }
)

describe("fuzzed CLI arguments", { timeout: 120_000 }, () => {
  it("exit 2 with a clear message and never a stack trace", async () => {
    const { FastCheck: fc } = await import("effect")
    const commands = ["get", "snapshot", "watch", "history", "diff", "executions", "sql", "db", "emulator", "demo"]
    const junk = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.startsWith("-") && s.trim().length > 0)
    const unknownFlag = fc.stringMatching(/^--zz[a-z]{3,8}$/)
    const cases = fc.sample(
      fc
        .tuple(fc.constantFrom(...commands), unknownFlag, fc.array(junk, { maxLength: 3 }))
        .map(([command, flag, rest]) => [command, flag, ...rest]),
      { numRuns: 12, seed: 7 }
    )
    cases.push(
      ...fc.sample(
        fc.array(junk, { minLength: 1, maxLength: 3 }).filter((a) => !commands.includes(a[0]!)),
        { numRuns: 4, seed: 9 }
      )
    )
    for (const args of cases) {
      const result = await run(args, { PIPETRAIL_DATA_DIR: "/nonexistent/pipetrail-fuzz" })
      assert.strictEqual(result.code, 2, `${JSON.stringify(args)}: ${result.stderr}`)
      assert.isAbove(result.stderr.trim().length, 0)
      noStack(result.stderr)
    }
  })
})
