import type { Migration } from "kysely"
import * as m0001 from "./0001_snapshots.js"
import * as m0002 from "./0002_views.js"
import * as m0003 from "./0003_lookup_indexes.js"
import * as m0004 from "./0004_head_changed_at.js"
import * as m0005 from "./0005_head_list_index.js"
import * as m0006 from "./0006_snapshot_trigger_when.js"
import * as m0007 from "./0007_reader_role.js"
import * as m0008 from "./0008_rejected_response_http.js"
import * as m0009 from "./0009_observation_order.js"
import * as m0010 from "./0010_action_history.js"

/** Every migration, by sortable name. Static so a built or bundled CLI finds them. */
export const migrations: Record<string, Migration> = {
  "0001_snapshots": m0001,
  "0002_views": m0002,
  "0003_lookup_indexes": m0003,
  "0004_head_changed_at": m0004,
  "0005_head_list_index": m0005,
  "0006_snapshot_trigger_when": m0006,
  "0007_reader_role": m0007,
  "0008_rejected_response_http": m0008,
  "0009_observation_order": m0009,
  "0010_action_history": m0010
}
