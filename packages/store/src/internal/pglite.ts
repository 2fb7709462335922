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
import type { Session } from "./session.js"

/** The embedded store's session as a kysely connection: it is handed to one user at a time. */
class SessionConnection implements DatabaseConnection {
  constructor(private readonly session: Session) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.session.query<R>(query.sql, query.parameters, "object")
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

class SessionDriver implements Driver {
  private readonly connection: SessionConnection
  private release: (() => Promise<void>) | undefined

  constructor(private readonly session: Session) {
    this.connection = new SessionConnection(session)
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    this.release = await this.session.acquire()
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
    await release?.()
  }

  // The layer that opened the store closes it, with its scope.
  async destroy(): Promise<void> {}
}

/** A kysely dialect over the embedded store's session, local or served by the process holding the store. */
export class PgliteDialect implements Dialect {
  constructor(private readonly session: Session) {}

  createDriver(): Driver {
    return new SessionDriver(this.session)
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
