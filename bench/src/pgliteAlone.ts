import v8 from "node:v8"
import { PGlite } from "@electric-sql/pglite"

// PGlite by itself: opens the data directory given, runs the query given, closes. The start-up
// benchmark compares `pipetrail executions` on the embedded store with this, so PGlite runs as
// pipetrail runs it for a short command: the store's 16 MB buffer pool (startParams in
// store/src/internal/session.ts) and WebAssembly on the baseline compiler only (cli/src/bin.ts).
v8.setFlagsFromString("--liftoff-only")
const [dataDir, query] = process.argv.slice(2)
const db = await PGlite.create({
  dataDir: dataDir!,
  startParams: [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"]
})
await db.query(query!)
await db.close()
