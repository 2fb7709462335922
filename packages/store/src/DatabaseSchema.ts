import type { ColumnType, Generated } from "kysely"

type Timestamp = ColumnType<Date, Date | string, Date | string>
/** A `bigint` id, read as a number on both backends (ids stay far below 2^53). */
type BigId = number
type Json = ColumnType<unknown, string, string>

/** `snapshot_run`: one row per job run. */
export interface SnapshotRunTable {
  id: Generated<BigId>
  source: string
  started_at: ColumnType<Date, Date | string | undefined, Date | string>
  finished_at: Timestamp | null
  selection: ColumnType<unknown, string | undefined, string>
  fetched: Generated<number>
  new_snapshots: Generated<number>
  unchanged: Generated<number>
  rejected: Generated<number>
  failed: Generated<number>
  outcome: Generated<"running" | "succeeded" | "partial" | "failed" | "interrupted">
  error: string | null
  /** Action observations received, and action contents stored for the first time (migration 0010). */
  actions_fetched: Generated<number>
  new_action_states: Generated<number>
}

/** `execution_snapshot`: one row per distinct observed state of an execution; documents immutable. */
export interface ExecutionSnapshotTable {
  id: Generated<BigId>
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  seq: number
  pipeline_version: number
  status: string
  status_summary: string | null
  trigger_type: string | null
  trigger_detail: string | null
  execution_mode: string | null
  execution_type: string | null
  rollback_target_execution_id: string | null
  start_time: Timestamp | null
  last_update_time: Timestamp | null
  document: Json
  document_raw: Uint8Array | null
  content_hash: string
  first_seen_at: Timestamp
  last_seen_at: Timestamp
  seen_count: Generated<number>
  first_run_id: BigId | null
  last_run_id: BigId | null
}

/** `execution_head`: the latest state of each execution (the row writers lock). */
export interface ExecutionHeadTable {
  /** The execution's number, which its observations refer to (migration 0009). */
  id: Generated<BigId>
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  seq: Generated<number>
  snapshot_id: BigId | null
  content_hash: string | null
  status: string | null
  start_time: Timestamp | null
  /** When the execution last moved to a new state (first seen time of the latest state). */
  changed_at: Timestamp | null
  /** The content hash of the state whose action executions were last fetched completely (migration 0010). */
  actions_synced_hash: string | null
}

/** `execution_observation`: every observation of an execution, in the order it was made (migration 0009). */
export interface ExecutionObservationTable {
  head_id: BigId
  /** When the response was received. */
  observed_at: Timestamp
  content_hash: string
  run_id: BigId | null
  /** How many observations this row stands for: 1, except middle observations of a state kept before 0009. */
  seen: Generated<number>
}

/** `rejected_response`: payloads that failed to decode, verbatim. */
export interface RejectedResponseTable {
  id: Generated<BigId>
  source: string
  run_id: BigId | null
  operation: string
  pipeline_name: string | null
  pipeline_execution_id: string | null
  payload: Uint8Array
  payload_json: Json | null
  issue: string
  received_at: ColumnType<Date, Date | string | undefined, Date | string>
  /** The HTTP answer's status, request id and content type (migration 0008; null before it). */
  http_status: number | null
  request_id: string | null
  content_type: string | null
  /** Whether `payload` holds the bytes exactly as they arrived (rows from before 0008 do not). */
  payload_is_raw: Generated<boolean>
}

/** `latest_execution` (view): the latest state of each execution. */
export interface LatestExecutionView {
  snapshot_id: BigId
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  state_count: number
  pipeline_version: number
  status: string
  status_summary: string | null
  trigger_type: string | null
  trigger_detail: string | null
  execution_mode: string | null
  execution_type: string | null
  rollback_target_execution_id: string | null
  start_time: Date | null
  last_update_time: Date | null
  is_terminal: boolean
  document: unknown
  content_hash: string
  first_seen_at: Date
  last_seen_at: Date
  seen_count: number
}

/** `status_transition` (view): each status change with the time it was first observed. */
export interface StatusTransitionView {
  snapshot_id: BigId
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  seq: number
  from_status: string | null
  to_status: string
  observed_at: Date
  last_update_time: Date | null
}

/** `execution_duration` (view): start, end and duration of each execution's latest state. */
export interface ExecutionDurationView {
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  status: string
  execution_type: string | null
  start_time: Date | null
  end_time: Date | null
  duration_seconds: number | null
}

/** `delivery_metrics_daily` (view): deployment frequency, lead time, change failure rate, time to restore. */
export interface DeliveryMetricsDailyView {
  source: string
  pipeline_name: string
  day: Date
  deployments: number
  rollbacks: number
  failures: number
  change_failure_rate: number | null
  lead_time_avg_seconds: number | null
  lead_time_median_seconds: number | null
  time_to_restore_avg_seconds: number | null
  unrestored_failures: number
}

/** The typed columns of an action execution's state, shared by `action_state` and the action views. */
export interface ActionColumns {
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  action_execution_id: string
  stage_name: string
  action_name: string
  category: string | null
  owner: string | null
  provider: string | null
  action_version: string | null
  status: string
  start_time: Timestamp | null
  last_update_time: Timestamp | null
  updated_by: string | null
  external_execution_id: string | null
  external_execution_summary: string | null
  external_execution_url: string | null
  error_code: string | null
  error_message: string | null
  log_stream_arn: string | null
  content_hash: string
}

/** `action_state`: one immutable row per distinct content of an action execution (migration 0010). */
export interface ActionStateTable extends ActionColumns {
  id: Generated<BigId>
  document: Json
  document_raw: Uint8Array | null
}

/** `action_observation`: every observation of an action execution, recorded once (migration 0010). */
export interface ActionObservationTable {
  state_id: BigId
  /** When the response was received. */
  observed_at: Timestamp
  run_id: BigId | null
}

/** `action_head`: the latest observation of each action execution (migration 0010). */
export interface ActionHeadTable {
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  action_execution_id: string
  state_id: BigId
  observed_at: Timestamp
  content_hash: string
  run_id: BigId | null
}

/** `action_snapshot` (view): every state of every action execution, in observation order. */
export interface ActionSnapshotView extends ActionColumns {
  seq: number
  state_id: BigId
  document: unknown
  first_seen_at: Date
  last_seen_at: Date
  seen_count: number
  first_run_id: BigId | null
  last_run_id: BigId | null
}

/** `action_latest` (view): the latest state of each action execution. */
export interface ActionLatestView extends ActionColumns {
  state_id: BigId
  document: unknown
  last_seen_at: Date
}

/** `approval` (view): every manual approval, its decision, who made it, when and with what comment. */
export interface ApprovalView {
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  stage_name: string
  action_name: string
  action_execution_id: string
  requested_at: Date | null
  decided_at: Date | null
  wait_seconds: number | null
  decision: string
  decided_by: string | null
  comment: string | null
  url: string | null
  status: string
  last_seen_at: Date
}

/** `action_failure` (view): every failed action execution, with its error and where to look. */
export interface ActionFailureView {
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  stage_name: string
  action_name: string
  action_execution_id: string
  category: string | null
  provider: string | null
  started_at: Date | null
  failed_at: Date | null
  error_code: string | null
  error_message: string | null
  external_execution_id: string | null
  external_execution_url: string | null
  log_stream_arn: string | null
  updated_by: string | null
  external_execution_summary: string | null
}

/** `stage_duration` (view): per execution and stage, start, end, duration, final status and retries. */
export interface StageDurationView {
  source: string
  pipeline_name: string
  pipeline_execution_id: string
  stage_name: string
  started_at: Date | null
  ended_at: Date | null
  duration_seconds: number | null
  status: string
  actions: number
  retried_actions: number
}

/** The store's tables and views as kysely types, for your own queries: `Kysely<DatabaseSchema.Tables>` (the connection itself is the `Database` service). */
export interface Tables {
  snapshot_run: SnapshotRunTable
  execution_snapshot: ExecutionSnapshotTable
  execution_head: ExecutionHeadTable
  execution_observation: ExecutionObservationTable
  rejected_response: RejectedResponseTable
  latest_execution: LatestExecutionView
  status_transition: StatusTransitionView
  execution_duration: ExecutionDurationView
  delivery_metrics_daily: DeliveryMetricsDailyView
  action_state: ActionStateTable
  action_observation: ActionObservationTable
  action_head: ActionHeadTable
  action_snapshot: ActionSnapshotView
  action_latest: ActionLatestView
  approval: ApprovalView
  action_failure: ActionFailureView
  stage_duration: StageDurationView
}
