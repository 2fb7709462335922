import { Identifiers } from "@pipetrail/core"
import { Database } from "@pipetrail/store"
import { Redacted } from "effect"
import { sql } from "kysely"
import { fmt, freshDatabase, openStore, percentile, quick, results, run, timed } from "./harness.js"

// --- 6 & 7. reads among many snapshots -----------------------------------------------------------

export const benchReads = async () => {
  const executions = quick ? 10_000 : 100_000
  const states = 10
  const perPipeline = 1000
  // Enough samples that a p99 is not just the slowest one or two.
  const historySamples = quick ? 300 : 1000
  const listSamples = quick ? 60 : 200
  const database = await freshDatabase()
  if (database === undefined) {
    results.push({
      id: 6,
      name: "history of one execution",
      value: "-",
      baseline: "-",
      target: "p99 ≤ 5 ms",
      holds: "skipped"
    })
    results.push({
      id: 7,
      name: "latest state of 1,000 executions",
      value: "-",
      baseline: "-",
      target: "p99 ≤ 50 ms",
      holds: "skipped"
    })
    return
  }
  const handle = await openStore(Database.layerPostgres({ url: Redacted.make(database.url) }))
  try {
    const loadMs = await timed(async () => {
      await sql`
        insert into execution_snapshot (source, pipeline_name, pipeline_execution_id, seq, pipeline_version, status,
          trigger_type, start_time, last_update_time, document, content_hash, first_seen_at, last_seen_at)
        select 'bench', 'pipeline-' || (e / ${perPipeline}), x.id, s, 3,
          case when s = ${states} then 'Succeeded' else 'InProgress' end, 'Webhook',
          timestamptz '2026-01-01' + e * interval '1 minute', timestamptz '2026-01-01' + e * interval '1 minute' + s * interval '10 seconds',
          jsonb_build_object(
            'pipelineName', 'pipeline-' || (e / ${perPipeline}), 'pipelineVersion', 3, 'pipelineExecutionId', x.id,
            'status', case when s = ${states} then 'Succeeded' else 'InProgress' end,
            'trigger', jsonb_build_object('triggerType', 'Webhook', 'triggerDetail', 'arn:aws:codestar-connections:us-east-1:123456789012:connection/' || x.id),
            'executionMode', 'QUEUED', 'executionType', 'STANDARD',
            'startTime', to_char(timestamptz '2026-01-01' + e * interval '1 minute', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'artifactRevisions', jsonb_build_array(jsonb_build_object('name', 'SourceArtifact', 'revisionId', md5(x.id || 'a') || substr(md5(x.id), 1, 8),
              'revisionSummary', 'Fix race in retry loop number ' || e, 'revisionUrl', 'https://github.com/acme/repo/commit/' || md5(x.id))),
            'variables', jsonb_build_array(jsonb_build_object('name', 'BuildNumber', 'resolvedValue', (e * 10 + s)::text))),
          md5(x.id || s) || md5(x.id || s || 'x'),
          timestamptz '2026-01-01' + e * interval '1 minute' + s * interval '10 seconds',
          timestamptz '2026-01-01' + e * interval '1 minute' + s * interval '10 seconds'
        from generate_series(0, ${executions - 1}) e
        cross join lateral (select (md5(e::text)::uuid)::text as id) x
        cross join generate_series(1, ${states}) s
      `.execute(handle.db.kysely)
      await sql`
        insert into execution_head (source, pipeline_name, pipeline_execution_id, seq, snapshot_id, content_hash, status, start_time, changed_at)
        select source, pipeline_name, pipeline_execution_id, seq, id, content_hash, status, start_time, first_seen_at
        from execution_snapshot where seq = ${states}
      `.execute(handle.db.kysely)
      // A bulk load leaves hint bits and the visibility map unset until autovacuum runs, and
      // shared buffers full of dirty pages that a reader must write out before it can reuse one.
      // A store in use has had its vacuum and checkpoints, so the reads are measured after both.
      await sql`vacuum analyze`.execute(handle.db.kysely)
      await sql`checkpoint`.execute(handle.db.kysely)
    })
    const ids = (
      await sql<{
        id: string
      }>`select pipeline_execution_id as id from execution_head order by random() limit ${historySamples + 50}`.execute(
        handle.db.kysely
      )
    ).rows.map((r) => Identifiers.PipelineExecutionId.make(r.id))
    const historyMs: Array<number> = []
    for (const id of ids) historyMs.push(await timed(() => run(handle.store.history({ pipelineExecutionId: id }))))
    const measured = historyMs.slice(50)
    // The same executions again, their pages now in memory: how much of the tail is reading from disk.
    const again: Array<number> = []
    for (const id of ids.slice(50))
      again.push(await timed(() => run(handle.store.history({ pipelineExecutionId: id }))))
    results.push({
      id: 6,
      name: `history of one execution among ${fmt(executions * states)} snapshots (${fmt(executions)} executions × ${states} states)`,
      value: `p50 ${fmt(percentile(measured, 50), 2)} ms, p99 ${fmt(percentile(measured, 99), 2)} ms`,
      baseline: "—",
      target: "p99 ≤ 5 ms",
      holds: percentile(measured, 99) <= 5,
      details: {
        loadSeconds: loadMs / 1000,
        p90: percentile(measured, 90),
        p95: percentile(measured, 95),
        samples: measured.length,
        sameExecutionsAgain: { p50: percentile(again, 50), p99: percentile(again, 99) }
      }
    })
    const pipelines = executions / perPipeline
    const latestMs: Array<number> = []
    for (let i = 0; i < listSamples + 10; i++) {
      const pipelineName = Identifiers.PipelineName.make(`pipeline-${i % pipelines}`)
      latestMs.push(
        await timed(async () => {
          const list = await run(handle.store.list({ pipelineName, limit: 1000 }))
          if (list.length !== perPipeline) throw new Error(`expected ${perPipeline} executions, got ${list.length}`)
        })
      )
    }
    const latest = latestMs.slice(10)
    results.push({
      id: 7,
      name: "latest state of the 1,000 executions of one pipeline (SnapshotStore.list, decoded), same data",
      value: `p50 ${fmt(percentile(latest, 50), 1)} ms, p99 ${fmt(percentile(latest, 99), 1)} ms`,
      baseline: "—",
      target: "p99 ≤ 50 ms",
      holds: percentile(latest, 99) <= 50
    })
  } finally {
    await handle.close()
    await database.drop()
  }
}
