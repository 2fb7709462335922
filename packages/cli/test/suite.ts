import { existsSync } from "node:fs"
import { Emulator, Scenario } from "@pipetrail/emulator"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freshPostgres, run, start, tempDir, until } from "./utils.js"

/** Fails when stderr holds a stack trace. */
export const noStack = (stderr: string) =>
  assert.notMatch(stderr, /\n\s+at .+:\d+:\d+/, `stack trace printed:\n${stderr}`)

/** The end-to-end suite of the CLI against one store backend. */
export const cliSuite = (backend: "pglite" | "postgres") => {
  describe(`pipetrail CLI on ${backend}`, { timeout: 180_000 }, () => {
    let emulator: Emulator.Emulator
    let env: Record<string, string>
    let drop: () => Promise<void> = async () => undefined

    const sql = async (query: string): Promise<Array<Record<string, unknown>>> => {
      const result = await run(["sql", query, "-o", "json"], env)
      assert.strictEqual(result.code, 0, result.stderr)
      return JSON.parse(result.stdout)
    }

    beforeAll(async () => {
      emulator = await Emulator.start({ scenario: { seed: 31, pipelines: 3, executionsPerPipeline: 8, running: 2 } })
      env = { PIPETRAIL_ENDPOINT_URL: emulator.url }
      if (backend === "postgres") {
        const db = await freshPostgres()
        env.PIPETRAIL_DATABASE_URL = db.url
        drop = db.drop
      } else {
        env.PIPETRAIL_DATA_DIR = tempDir()
      }
    })

    afterAll(async () => {
      await emulator.close()
      await drop()
    })

    it("rejects bad arguments with exit 2, one clear line and no request sent", async () => {
      emulator.resetStats()
      const cases: Array<[Array<string>, RegExp]> = [
        [["snapshot", "--bogus"], /unknown argument: '--bogus'/i],
        [["snapshot"], /--pipeline NAME .* or pass --all-pipelines/],
        [["snapshot", "--pipeline", "bad name!"], /invalid pipeline name "bad name!"/],
        [["snapshot", "--all-pipelines", "--since", "yesterday"], /invalid --since "yesterday"/],
        [["snapshot", "--all-pipelines", "--concurrency", "0"], /--concurrency must be more than 0/],
        [["get", "payments", "not-an-id"], /invalid pipeline execution id "not-an-id"/],
        [["get"], /Missing argument <pipeline>/],
        [["watch", "--all-pipelines", "--every", "soon"], /--every: invalid duration "soon"/],
        [["executions", "--output", "xml"], /one of the following cases: table, json, csv/],
        [["diff", "--snapshots", "a", "b"], /snapshot ids are positive integers/],
        [["nonsense"], /Invalid subcommand for pipetrail/]
      ]
      for (const [args, message] of cases) {
        const result = await run(args, env)
        assert.strictEqual(result.code, 2, `${args.join(" ")}: ${result.stderr}`)
        assert.match(result.stderr, message, args.join(" "))
        noStack(result.stderr)
      }
      assert.deepStrictEqual(emulator.stats().requests, {})
    })

    it("get fetches, stores and prints one execution; --no-store only prints", async () => {
      const e = emulator.executions()[0]!
      const printed = await run(["get", e.pipelineName, e.pipelineExecutionId, "--no-store", "-o", "json"], env)
      assert.strictEqual(printed.code, 0, printed.stderr)
      const doc = JSON.parse(printed.stdout)
      assert.strictEqual(doc.pipelineExecutionId, e.pipelineExecutionId)
      assert.strictEqual(doc.startTime, new Date(e.startTime).toISOString())
      assert.strictEqual(doc.artifactRevisions[0].revisionId, e.artifactRevisions[0]!.revisionId)
      assert.deepStrictEqual(await sql("select count(*)::int as n from execution_snapshot"), [{ n: 0 }])

      const stored = await run(["get", e.pipelineName, e.pipelineExecutionId, "--source", "get-test"], env)
      assert.strictEqual(stored.code, 0, stored.stderr)
      assert.match(stored.stdout, new RegExp(`execution_id\\s+${e.pipelineExecutionId}`))
      assert.deepStrictEqual(await sql("select source, pipeline_execution_id, seq from execution_snapshot"), [
        { source: "get-test", pipeline_execution_id: e.pipelineExecutionId, seq: 1 }
      ])

      const missing = await run(["get", e.pipelineName, "00000000-0000-4000-8000-000000000000"], env)
      assert.strictEqual(missing.code, 1)
      assert.match(missing.stderr, /does not exist/)
      noStack(missing.stderr)
    })

    it("snapshot under throttling, 5xx, dropped connections and latency stores every execution once", async () => {
      const total = emulator.executions().length
      emulator.setFaults({
        throttleRate: 0.3,
        serverErrorRate: 0.05,
        dropConnectionRate: 0.05,
        latency: { min: 0, max: 15 },
        malformedRate: 0
      })
      const result = await run(
        ["snapshot", "--all-pipelines", "--source", "faulty", "--max-attempts", "30", "--rate", "200", "-o", "json"],
        env
      )
      emulator.setFaults({})
      assert.strictEqual(result.code, 0, result.stderr)
      const summary = JSON.parse(result.stdout)
      assert.include(summary, {
        fetched: total,
        newSnapshots: total,
        unchanged: 0,
        rejected: 0,
        failed: 0,
        outcome: "succeeded"
      })
      assert.isAbove(emulator.stats().throttled, 0)
      const rows = await sql(
        "select count(*)::int as snapshots, count(distinct pipeline_execution_id)::int as executions, max(seen_count)::int as seen from execution_snapshot where source = 'faulty'"
      )
      assert.deepStrictEqual(rows, [{ snapshots: total, executions: total, seen: 1 }])
      const runs = await sql(
        `select fetched, new_snapshots, unchanged, rejected, failed, outcome from snapshot_run where id = ${summary.runId}`
      )
      assert.deepStrictEqual(runs, [
        { fetched: total, new_snapshots: total, unchanged: 0, rejected: 0, failed: 0, outcome: "succeeded" }
      ])

      const again = await run(["snapshot", "--all-pipelines", "--source", "faulty", "-o", "json"], env)
      assert.strictEqual(again.code, 0, again.stderr)
      assert.include(JSON.parse(again.stdout), { fetched: total, newSnapshots: 0, unchanged: total })
      assert.deepStrictEqual(
        await sql(
          "select max(seen_count)::int as seen, count(*)::int as n from execution_snapshot where source = 'faulty'"
        ),
        [{ seen: 2, n: total }]
      )
    })

    it("snapshot keeps malformed responses and exits 3 when some executions were not stored", async () => {
      // Every pipeline: some of the malformations still decode (an unknown status is kept), so over
      // 24 executions at 50% both a rejection and a stored execution are all but certain.
      emulator.setFaults({ malformedRate: 0.5 })
      const result = await run(["snapshot", "--all-pipelines", "--source", "malformed", "-o", "json"], env)
      emulator.setFaults({})
      const summary = JSON.parse(result.stdout)
      assert.isAbove(summary.rejected, 0)
      assert.strictEqual(result.code, 3, result.stderr)
      assert.match(result.stderr, /rejected/)
      const kept = await sql("select count(*)::int as n from rejected_response where source = 'malformed'")
      assert.deepStrictEqual(kept, [{ n: summary.rejected }])
      const stored = await sql("select count(*)::int as n from execution_snapshot where source = 'malformed'")
      assert.strictEqual((stored[0] as { n: number }).n + summary.rejected, emulator.executions().length)
    })

    it("executions, history and diff read the store", async () => {
      const listed = await run(["executions", "--source", "faulty", "--limit", "5", "-o", "json"], env)
      assert.strictEqual(listed.code, 0, listed.stderr)
      const list = JSON.parse(listed.stdout) as Array<{ document: { pipelineExecutionId: string; startTime: string } }>
      assert.strictEqual(list.length, 5)
      const starts = list.map((e) => e.document.startTime)
      assert.deepStrictEqual(starts, [...starts].sort().reverse())

      const table = await run(["executions", "--source", "faulty", "--status", "Succeeded"], env)
      assert.strictEqual(table.code, 0, table.stderr)
      assert.match(table.stdout, /^pipeline\s+execution_id\s+status/)
      assert.notMatch(table.stdout, /InProgress/)

      const id = list[0]!.document.pipelineExecutionId
      const history = await run(["history", id, "--source", "faulty", "-o", "json"], env)
      assert.strictEqual(history.code, 0, history.stderr)
      const entries = JSON.parse(history.stdout)
      assert.strictEqual(entries.length, 1)
      assert.strictEqual(entries[0].document.pipelineExecutionId, id)

      const diff = await run(
        [
          "diff",
          list[0]!.document.pipelineExecutionId,
          list[1]!.document.pipelineExecutionId,
          "--source",
          "faulty",
          "-o",
          "json"
        ],
        env
      )
      assert.strictEqual(diff.code, 0, diff.stderr)
      assert.strictEqual(JSON.parse(diff.stdout)[0].path, "pipelineExecutionId")

      // Snapshot 1, as the README writes it: the flag does not take the 1 as its own value.
      const first = await run(["diff", "--snapshots", "1", "2", "-o", "json"], env)
      assert.strictEqual(first.code, 0, first.stderr)
      assert.isArray(JSON.parse(first.stdout))
    })

    it("actions, approvals, history and diff answer the audit questions from stored action executions", async () => {
      const snap = await run(["snapshot", "--all-pipelines", "--source", "acts", "-o", "json", "-q"], env)
      assert.strictEqual(snap.code, 0, snap.stderr)
      const summary = JSON.parse(snap.stdout)
      const visible = emulator
        .executions()
        .filter((e) => e.startTime <= emulator.now())
        .map((e) => ({ e, plan: Scenario.actionPlan(e).filter((a) => a.start <= emulator.now()) }))
      assert.strictEqual(
        summary.actionsFetched,
        visible.reduce((n, v) => n + v.plan.length, 0)
      )

      // The timeline of an execution with a failed action: every action, its status and error.
      const failed = visible.find(
        (v) => v.e.steps.at(-1)!.status === "Failed" && v.e.startTime + v.e.steps.at(-1)!.at <= emulator.now()
      )!
      const actions = await run(["actions", failed.e.pipelineExecutionId, "--source", "acts", "-o", "json"], env)
      assert.strictEqual(actions.code, 0, actions.stderr)
      const timeline = JSON.parse(actions.stdout) as Array<{ action: Record<string, any> }>
      assert.deepStrictEqual(
        timeline.map((t) => t.action.actionExecutionId).sort(),
        failed.plan.map((a) => a.actionExecutionId).sort()
      )
      // The action that failed the execution: its last one.
      const failure = failed.plan.at(-1)!
      assert.strictEqual(failure.status, "Failed")
      const stored = timeline.find((t) => t.action.actionExecutionId === failure.actionExecutionId)!.action
      assert.strictEqual(stored.status, "Failed")
      assert.deepStrictEqual(stored.output?.executionResult?.errorDetails, failure.error)
      const table = await run(["actions", failed.e.pipelineExecutionId, "--source", "acts"], env)
      assert.match(table.stdout, /^stage\s+action\s+status\s+start_time/)
      const csv = await run(["actions", failed.e.pipelineExecutionId, "--source", "acts", "-o", "csv"], env)
      assert.strictEqual(
        csv.stdout.split("\n")[0],
        "stage,action,status,start_time,last_update_time,provider,updated_by,error,summary,url,log_stream,action_execution_id"
      )

      // The approval report of one pipeline: exactly the approvals the emulator decided or holds.
      const pipeline = failed.e.pipelineName
      const report = await run(
        ["approvals", "--pipeline", pipeline, "--source", "acts", "--since", "2026-01-01", "-o", "json"],
        env
      )
      assert.strictEqual(report.code, 0, report.stderr)
      const approvals = JSON.parse(report.stdout) as Array<Record<string, any>>
      const expected = visible
        .filter((v) => v.e.pipelineName === pipeline)
        .flatMap((v) => v.plan.filter((a) => a.category === "Approval"))
      assert.deepStrictEqual(
        approvals.map((a) => [a.actionExecutionId, a.decision, a.decidedBy, a.comment]).sort(),
        expected
          .map((a) => {
            const done = a.end <= emulator.now()
            const decision = !done
              ? "pending"
              : a.status === "Succeeded"
                ? "approved"
                : a.status === "Failed"
                  ? "rejected"
                  : "abandoned"
            return [
              a.actionExecutionId,
              decision,
              done ? a.approval?.updatedBy : undefined,
              done ? a.approval?.comment : undefined
            ]
          })
          .sort()
      )
      const none = await run(["approvals", "--pipeline", "no-such-pipeline", "--source", "acts"], env)
      assert.match(none.stdout.trim(), /^no approvals stored for this selection/)
      const bad = await run(["approvals", "--since", "yesterday-ish", "--source", "acts"], env)
      assert.strictEqual(bad.code, 2)

      // history shows the actions seen with each state; diff compares two executions' actions.
      const history = await run(["history", failed.e.pipelineExecutionId, "--source", "acts", "-o", "json"], env)
      assert.strictEqual(history.code, 0, history.stderr)
      const entries = JSON.parse(history.stdout) as Array<{ actions: Array<{ actionExecutionId: string }> }>
      assert.deepStrictEqual(
        entries.flatMap((e) => e.actions.map((a) => a.actionExecutionId)).sort(),
        failed.plan.map((a) => a.actionExecutionId).sort()
      )
      const succeeded = visible.find(
        (v) =>
          v.e.pipelineName === pipeline &&
          v.e.steps.at(-1)!.status === "Succeeded" &&
          v.e.startTime + v.e.steps.at(-1)!.at <= emulator.now()
      )
      if (succeeded !== undefined) {
        const diff = await run(
          ["diff", failed.e.pipelineExecutionId, succeeded.e.pipelineExecutionId, "--source", "acts", "-o", "json"],
          env
        )
        assert.strictEqual(diff.code, 0, diff.stderr)
        const changes = JSON.parse(diff.stdout) as Array<Record<string, unknown>>
        const stage = `actions[${failure.stageName}/${failure.actionName}].status`
        assert.deepInclude(changes, {
          path: stage,
          field: "actions",
          key: `${failure.stageName}/${failure.actionName}`,
          kind: "changed",
          before: "Failed",
          after: "Succeeded"
        })
      }

      // --no-actions: no action call, nothing stored.
      emulator.resetStats()
      const without = await run(
        ["snapshot", "--all-pipelines", "--source", "no-acts", "--no-actions", "-o", "json", "-q"],
        env
      )
      assert.strictEqual(without.code, 0, without.stderr)
      assert.isUndefined(emulator.stats().requests.ListActionExecutions)
      assert.deepStrictEqual(await sql("select count(*)::int as n from action_state where source = 'no-acts'"), [
        { n: 0 }
      ])
    })

    it("watch stores only changes, makes one list call per pipeline when nothing changed, and exits 0 on SIGTERM", async () => {
      const pipelines = emulator.pipelines().map((p) => p.name)
      const watch = start(["watch", "--all-pipelines", "--every", "1s", "--source", "watch", "-o", "json"], env)
      const lines = () =>
        watch
          .stdout()
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l))
      await until(() => lines().length >= 1, 60_000, "the first tick")
      emulator.resetStats()
      const unfinished = emulator
        .executions()
        .filter((e) => e.startTime + e.steps[e.steps.length - 1]!.at > emulator.now())
      emulator.advance(3 * 60 * 60_000)
      const fresh = emulator.startExecution(pipelines[0]!)
      await until(() => lines().length >= 2, 30_000, "the second tick")
      const second = lines()[1]
      assert.strictEqual(second.fetched, unfinished.length + 1)
      assert.strictEqual(second.newSnapshots, unfinished.length + 1)
      assert.strictEqual(emulator.stats().requests.GetPipelineExecution, unfinished.length + 1)
      // Actions of the executions that changed, one call each (no execution has more than 100).
      assert.strictEqual(emulator.stats().requests.ListActionExecutions, unfinished.length + 1)

      emulator.advance(3 * 60 * 60_000)
      await until(() => lines().length >= 3, 30_000, "the third tick")
      assert.include(lines()[2], { fetched: 1, newSnapshots: 1, failed: 0 })
      emulator.resetStats()
      await until(() => lines().length >= 4, 30_000, "the fourth tick")
      assert.include(lines()[3], { fetched: 0, newSnapshots: 0, failed: 0 })
      assert.strictEqual(emulator.stats().requests.ListPipelineExecutions, pipelines.length)
      assert.isUndefined(emulator.stats().requests.GetPipelineExecution)
      assert.isUndefined(emulator.stats().requests.ListActionExecutions)

      watch.child.kill("SIGTERM")
      const result = await watch.done
      assert.strictEqual(result.code, 0, result.stderr)
      const history = await sql(
        `select seq, status from execution_snapshot where source = 'watch' and pipeline_execution_id = '${fresh.pipelineExecutionId}' order by seq`
      )
      assert.deepStrictEqual(history, [
        { seq: 1, status: "InProgress" },
        { seq: 2, status: fresh.steps[fresh.steps.length - 1]!.status }
      ])
      const running = await sql(
        "select count(*)::int as n from snapshot_run where source = 'watch' and outcome = 'running'"
      )
      assert.deepStrictEqual(running, [{ n: 0 }])
    })

    it("sql runs read-only queries and refuses every write", async () => {
      const before = await sql("select count(*)::int as n from execution_snapshot")
      for (const statement of [
        "insert into snapshot_run (source) values ('x')",
        "update execution_head set status = 'x'",
        "delete from execution_head",
        "drop table execution_snapshot",
        "truncate execution_head",
        "copy (select 1) to program 'touch /tmp/pipetrail-pwned'",
        "set transaction_read_only = off",
        "commit; delete from execution_head",
        "select 1; delete from execution_head",
        "with d as (delete from execution_head returning 1) select count(*) from d",
        // measured bypasses of the old text check: a comment PostgreSQL nests, a `--` comment ended by \r
        "/* /* */ select */ copy (select 1) to program 'id > /tmp/pipetrail-cli-pwned'",
        "-- x\rcopy (select 1) to program 'id > /tmp/pipetrail-cli-pwned'",
        "/* /* */ select */ copy (select '') to 'postgresql.auto.conf'",
        "select pg_read_file('/etc/passwd')",
        "select * from pg_ls_dir('/')",
        "select pg_terminate_backend(pid) from pg_stat_activity",
        "select pg_stat_reset()",
        "select pg_logical_emit_message(true, 'x', 'y')"
      ]) {
        const result = await run(["sql", statement], env)
        assert.strictEqual(result.code, 2, `${statement}: ${result.stderr}`)
        assert.match(result.stderr, /query refused/)
        noStack(result.stderr)
      }
      assert.deepStrictEqual(await sql("select count(*)::int as n from execution_snapshot"), before)
      const heads = await sql("select count(*)::int as n from execution_head where status = 'x'")
      assert.deepStrictEqual(heads, [{ n: 0 }])
      assert.isFalse(existsSync("/tmp/pipetrail-cli-pwned"))
      const csv = await run(["sql", "select 'a,b' as x, 2 as y", "-o", "csv"], env)
      assert.strictEqual(csv.stdout.trim(), 'x,y\n"a,b",2')
      assert.deepStrictEqual(await sql("select current_user as who"), [{ who: "pipetrail_reader" }])
    })

    it("db status lists applied migrations; db migrate has nothing left to do", async () => {
      const status = await run(["db", "status", "-o", "json"], env)
      assert.strictEqual(status.code, 0, status.stderr)
      const list = JSON.parse(status.stdout) as Array<{ migration: string; applied_at: string }>
      assert.deepStrictEqual(
        list.map((m) => m.migration),
        [
          "0001_snapshots",
          "0002_views",
          "0003_lookup_indexes",
          "0004_head_changed_at",
          "0005_head_list_index",
          "0006_snapshot_trigger_when",
          "0007_reader_role",
          "0008_rejected_response_http",
          "0009_observation_order",
          "0010_action_history"
        ]
      )
      for (const m of list) assert.notStrictEqual(m.applied_at, "pending")
      const migrate = await run(["db", "migrate", "-o", "json"], env)
      assert.strictEqual(migrate.code, 0, migrate.stderr)
      assert.deepStrictEqual(JSON.parse(migrate.stdout), [])
    })

    // These store the same executions under sources of their own: they run after the reads above.
    it("an answer about another execution or pipeline is kept as rejected, never stored as either", async () => {
      const name = emulator.pipelines()[1]!.name
      const truth = await run(["snapshot", "--pipeline", name, "--source", "truth", "-o", "json"], env)
      assert.strictEqual(truth.code, 0, truth.stderr)
      emulator.setFaults({ mismatchRate: 0.5 })
      const before = emulator.stats().mismatched
      // Executions only: an action listing's mismatches are kept too (core's tests), but not counted here.
      const result = await run(
        ["snapshot", "--pipeline", name, "--source", "mismatch", "--no-actions", "-o", "json"],
        env
      )
      const mismatched = emulator.stats().mismatched - before
      emulator.setFaults({})
      assert.strictEqual(result.code, 3, result.stderr)
      const summary = JSON.parse(result.stdout)
      assert.isAbove(mismatched, 0)
      assert.strictEqual(summary.rejected, mismatched)
      const kept = await sql(
        "select count(*)::int as n from rejected_response where source = 'mismatch' and operation = 'GetPipelineExecution' and issue like 'asked for %, the response is about %'"
      )
      assert.deepStrictEqual(kept, [{ n: mismatched }])
      // Every state stored is the true state of the execution it is stored as.
      const wrong = await sql(`
        select count(*)::int as n from execution_snapshot m
        where m.source = 'mismatch' and not exists (
          select from execution_snapshot t where t.source = 'truth'
            and t.pipeline_execution_id = m.pipeline_execution_id and t.content_hash = m.content_hash)`)
      assert.deepStrictEqual(wrong, [{ n: 0 }])
      const stored = await sql("select count(*)::int as n from execution_snapshot where source = 'mismatch'")
      assert.strictEqual((stored[0] as { n: number }).n + mismatched, 8)
    })

    it("a body the SDK cannot read (HTML, truncated, not JSON, string timestamps) is kept as the bytes that arrived", async () => {
      const name = emulator.pipelines()[2]!.name
      emulator.setFaults({ malformedBodyRate: 0.5 })
      const before = emulator.stats().malformedBodies
      const result = await run(["snapshot", "--pipeline", name, "--source", "raw-bodies", "-o", "json"], env)
      const broken = emulator.stats().malformedBodies - before
      emulator.setFaults({})
      assert.strictEqual(result.code, 3, result.stderr)
      assert.isAbove(broken, 0)
      assert.strictEqual(JSON.parse(result.stdout).rejected, broken)
      const kept = (await sql(
        `select http_status, request_id is not null as has_request_id, payload_is_raw, content_type,
           convert_from(payload, 'UTF8') as body
         from rejected_response where source = 'raw-bodies'`
      )) as Array<{
        http_status: number
        has_request_id: boolean
        payload_is_raw: boolean
        content_type: string
        body: string
      }>
      assert.strictEqual(kept.length, broken)
      for (const row of kept) {
        assert.deepInclude(row, { http_status: 200, has_request_id: true, payload_is_raw: true })
        if (row.content_type === "text/html") assert.match(row.body, /^<html><head><title>502 Bad Gateway/)
        if (row.content_type === "text/plain")
          assert.strictEqual(row.body, "upstream connect error or disconnect/reset before headers")
      }
    })

    it("get keeps what it rejects", async () => {
      const e = emulator.executions()[0]!
      emulator.setFaults({ mismatchRate: 1 })
      const result = await run(["get", e.pipelineName, e.pipelineExecutionId, "--source", "get-rejected"], env)
      emulator.setFaults({})
      assert.strictEqual(result.code, 1, result.stderr)
      assert.match(result.stderr, /answered about something else/)
      noStack(result.stderr)
      const kept = await sql(
        "select operation, pipeline_execution_id from rejected_response where source = 'get-rejected'"
      )
      assert.deepStrictEqual(kept, [
        { operation: "GetPipelineExecution", pipeline_execution_id: e.pipelineExecutionId }
      ])
      const stored = await sql("select count(*)::int as n from execution_snapshot where source = 'get-rejected'")
      assert.deepStrictEqual(stored, [{ n: 0 }])
    })
  })
}
