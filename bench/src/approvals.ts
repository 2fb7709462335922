import { Identifiers } from "@pipetrail/core"
import { Database } from "@pipetrail/store"
import { Redacted } from "effect"
import { sql } from "kysely"
import { fmt, freshDatabase, openStore, percentile, quick, results, run, timed } from "./harness.js"

// --- 10. the approval audit report among many action snapshots ----------------------------------

export const benchApprovals = async () => {
  // Each execution: source, build, approval, deploy, test; each action seen in progress, then done.
  const executions = quick ? 10_000 : 100_000
  const actionsPerExecution = 5
  const perPipeline = 1000
  const samples = quick ? 100 : 300
  const snapshots = executions * actionsPerExecution * 2
  const target = "p99 ≤ 50 ms"
  const name = `approvals of one pipeline's last 90 days among ${fmt(snapshots)} action snapshots (SnapshotStore.approvals)`
  const database = await freshDatabase()
  if (database === undefined) {
    results.push({ id: 10, name, value: "-", baseline: "-", target, holds: "skipped" })
    return
  }
  const handle = await openStore(Database.layerPostgres({ url: Redacted.make(database.url) }))
  try {
    const loadMs = await timed(async () => {
      // A year of executions per pipeline, the newest now; each action starts 5 minutes after the previous one.
      await sql`
        insert into action_state (source, pipeline_name, pipeline_execution_id, action_execution_id, stage_name, action_name,
          category, owner, provider, action_version, status, start_time, last_update_time, updated_by,
          external_execution_summary, external_execution_url, document, content_hash)
        select 'bench', 'pipeline-' || (e / ${perPipeline}), x.id, x.id || '-' || a, k.stage, k.stage, k.category, 'AWS',
          k.provider, '1', case when s = 1 then 'InProgress' else 'Succeeded' end,
          x.t0 + a * interval '5 minutes', x.t0 + a * interval '5 minutes' + (s - 1) * interval '4 minutes',
          case when k.category = 'Approval' and s = 2 then 'arn:aws:iam::123456789012:user/approver-' || (e % 7) end,
          case when k.category = 'Approval' and s = 2 then 'Approved after change review CHG-' || e end,
          'https://console.aws.amazon.com/codesuite/codepipeline/pipelines/p/executions/' || x.id,
          jsonb_build_object('pipelineExecutionId', x.id, 'actionExecutionId', x.id || '-' || a, 'stageName', k.stage,
            'actionName', k.stage, 'status', case when s = 1 then 'InProgress' else 'Succeeded' end,
            'input', jsonb_build_object('actionTypeId', jsonb_build_object('category', k.category, 'owner', 'AWS',
              'provider', k.provider, 'version', '1'))),
          md5(x.id || a || s) || md5(x.id || a || s || 'x')
        from generate_series(0, ${executions - 1}) e
        cross join lateral (
          select (md5(e::text)::uuid)::text as id,
            now() - (e % ${perPipeline}) * (interval '365 days' / ${perPipeline}) as t0
        ) x
        cross join generate_series(0, ${actionsPerExecution - 1}) a
        cross join lateral (
          select (array['Source', 'Build', 'Approve', 'Deploy', 'Test'])[a + 1] as stage,
            (array['Source', 'Build', 'Approval', 'Deploy', 'Test'])[a + 1] as category,
            (array['CodeStarSourceConnection', 'CodeBuild', 'Manual', 'CodeDeploy', 'CodeBuild'])[a + 1] as provider
        ) k
        cross join generate_series(1, 2) s
      `.execute(handle.db.kysely)
      await sql`
        insert into action_observation (state_id, observed_at)
        select id, coalesce(last_update_time, start_time) + interval '30 seconds' from action_state
      `.execute(handle.db.kysely)
      await sql`
        insert into action_head (source, pipeline_name, pipeline_execution_id, action_execution_id, state_id, observed_at, content_hash)
        select source, pipeline_name, pipeline_execution_id, action_execution_id, id, last_update_time + interval '30 seconds', content_hash
        from action_state where status = 'Succeeded'
      `.execute(handle.db.kysely)
      // Measured as a store in use reads: after vacuum and a checkpoint (see item 6).
      await sql`vacuum analyze`.execute(handle.db.kysely)
      await sql`checkpoint`.execute(handle.db.kysely)
    })
    const pipelines = executions / perPipeline
    const since = new Date(Date.now() - 90 * 86_400_000)
    const expected = Math.round((perPipeline * 90) / 365)
    const ms: Array<number> = []
    for (let i = 0; i < samples + 10; i++) {
      const pipelineName = Identifiers.PipelineName.make(`pipeline-${(i * 7) % pipelines}`)
      ms.push(
        await timed(async () => {
          const rows = await run(handle.store.approvals({ pipelineName, since }))
          if (Math.abs(rows.length - expected) > 2 || rows.some((r) => r.decision !== "approved")) {
            throw new Error(`expected about ${expected} approvals, got ${rows.length}`)
          }
        })
      )
    }
    const measured = ms.slice(10)
    results.push({
      id: 10,
      name,
      value: `p50 ${fmt(percentile(measured, 50), 2)} ms, p99 ${fmt(percentile(measured, 99), 2)} ms (${expected} approvals each)`,
      baseline: "—",
      target,
      holds: percentile(measured, 99) <= 50,
      details: { loadSeconds: loadMs / 1000, samples: measured.length, p90: percentile(measured, 90) }
    })
  } finally {
    await handle.close()
    await database.drop()
  }
}
