import { PGlite } from "@electric-sql/pglite"

// PGlite by itself: opens the data directory given, runs the query given, closes. The start-up
// benchmark compares `pipetrail executions` on the embedded store with this.
const [dataDir, query] = process.argv.slice(2)
const db = await PGlite.create({ dataDir: dataDir! })
await db.query(query!)
await db.close()
