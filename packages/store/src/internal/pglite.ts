import type { PGlite } from "@electric-sql/pglite"
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  type TransactionSettings
} from "kysely"

/** One PGlite instance is one session: connections are handed out one at a time. */
class PgliteConnection implements DatabaseConnection {
  constructor(private readonly db: PGlite) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.db.query<R>(query.sql, [...query.parameters], { rowMode: "object" })
    return {
      rows: result.rows,
      ...(result.affectedRows === undefined ? {} : { numAffectedRows: BigInt(result.affectedRows) })
    }
  }

  // biome-ignore lint/correctness/useYield: PGlite has no cursor streaming; this says so.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("streaming queries are not supported on the embedded PGlite store")
  }
}

class PgliteDriver implements Driver {
  private readonly connection: PgliteConnection
  private queue: Promise<void> = Promise.resolve()
  private release: (() => void) | undefined

  constructor(private readonly db: PGlite) {
    this.connection = new PgliteConnection(db)
  }

  async init(): Promise<void> {
    await this.db.waitReady
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.queue
    let release!: () => void
    this.queue = new Promise<void>((resolve) => {
      release = resolve
    })
    await previous
    this.release = release
    return this.connection
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const modes = [
      settings.isolationLevel === undefined ? "" : ` isolation level ${settings.isolationLevel}`,
      settings.accessMode === undefined ? "" : ` ${settings.accessMode}`
    ].join("")
    await connection.executeQuery(CompiledQuery.raw(`begin${modes}`))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("commit"))
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"))
  }

  async releaseConnection(): Promise<void> {
    const release = this.release
    this.release = undefined
    release?.()
  }

  async destroy(): Promise<void> {
    if (!this.db.closed) await this.db.close()
  }
}

/** A kysely dialect over an open PGlite instance (PostgreSQL compiled to WASM). */
export class PgliteDialect implements Dialect {
  constructor(private readonly db: PGlite) {}

  createDriver(): Driver {
    return new PgliteDriver(this.db)
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler()
  }

  createAdapter() {
    return new PostgresAdapter()
  }

  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db)
  }
}
