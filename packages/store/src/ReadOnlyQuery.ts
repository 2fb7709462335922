/**
 * What `pipetrail sql` lets through, decided on PostgreSQL's own parse tree (libpg-query: the
 * server's grammar compiled to WebAssembly), never on the text. A statement passes when it is
 * exactly one statement of an allowed kind, holds no data-modifying or utility statement at any
 * depth, no `SELECT INTO`, no locking clause, and calls no refused function. The database then
 * runs it in a read-only transaction under the least-privileged role it has (see `Database`):
 * this check is the first of three layers, not the only one.
 */
import { Effect, Schema } from "effect"
import type * as PgQueryModule from "libpg-query"

/** A statement `pipetrail sql` will not send to the database, with the reason. */
export class QueryRefusedError extends Schema.TaggedError<QueryRefusedError>()("QueryRefusedError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/**
 * `pg_*` is the server's administration namespace (signals, files, replication, statistics
 * resets, backups, advisory locks, sleeps…): every `pg_*` function is refused except these
 * read-only introspection helpers. An allowlist here, because new administrative `pg_*`
 * functions arrive with every release and must be refused before anyone lists them.
 */
export const allowedPgFunctions: ReadonlySet<string> = new Set([
  "pg_typeof",
  "pg_column_size",
  "pg_size_pretty",
  "pg_size_bytes",
  "pg_relation_size",
  "pg_relation_filepath",
  "pg_relation_filenode",
  "pg_total_relation_size",
  "pg_table_size",
  "pg_indexes_size",
  "pg_database_size",
  "pg_get_viewdef",
  "pg_get_indexdef",
  "pg_get_constraintdef",
  "pg_get_triggerdef",
  "pg_get_functiondef",
  "pg_get_function_arguments",
  "pg_get_function_result",
  "pg_get_expr",
  "pg_get_userbyid",
  "pg_get_serial_sequence",
  "pg_table_is_visible",
  "pg_type_is_visible",
  "pg_function_is_visible",
  "pg_has_role",
  "pg_backend_pid",
  "pg_postmaster_start_time",
  "pg_conf_load_time",
  "pg_client_encoding",
  "pg_encoding_to_char",
  "pg_char_to_encoding",
  "pg_input_is_valid",
  "pg_input_error_info"
])

/**
 * Outside `pg_*`, a denylist: the breadth of PostgreSQL's query functions (jsonb, dates,
 * aggregates, windows, text) is what `sql` is for, and these are the ones that act rather than
 * compute: large objects and their file import/export, configuration (`set_config`), sequences,
 * notifications, remote connections (dblink), transaction ids, and every function that runs a
 * SQL string of its own (`query_to_xml` and friends, `ts_stat`), which would bypass this check.
 */
export const refusedFunctions: ReadonlySet<string> = new Set([
  "loread",
  "lowrite",
  "set_config",
  "nextval",
  "setval",
  "txid_current",
  "txid_current_if_assigned",
  "ts_stat",
  "ts_rewrite"
])

/** Name prefixes refused outside `pg_*`: large objects, dblink, binary upgrade, and `*_to_xml*`-style SQL runners. */
export const refusedPrefixes: ReadonlyArray<string> = ["lo_", "dblink", "binary_upgrade_", "query_to_", "cursor_to_"]

/** Name fragments refused anywhere in a function name (`table_to_xml`, `database_to_xmlschema`…). */
export const refusedFragments: ReadonlyArray<string> = ["_to_xml"]

/** Why a function call is refused, or `undefined` when it may run. */
export const functionRefusal = (name: string): string | undefined => {
  const n = name.toLowerCase()
  if (n.startsWith("pg_")) {
    return allowedPgFunctions.has(n)
      ? undefined
      : `function ${name} is refused: server-administration functions (pg_*) may not run through pipetrail sql`
  }
  if (
    refusedFunctions.has(n) ||
    refusedPrefixes.some((p) => n.startsWith(p)) ||
    refusedFragments.some((f) => n.includes(f))
  ) {
    return `function ${name} is refused: it changes state, reaches outside the database or runs SQL of its own`
  }
  return undefined
}

const refuse = (reason: string) => new QueryRefusedError({ reason })

let loading: Promise<typeof PgQueryModule> | undefined

/** PostgreSQL's parser, loaded (module and WASM) on the first statement to check. */
const load = Effect.tryPromise({
  try: () => {
    loading ??= import("libpg-query")
      .then(async (module) => {
        await module.loadModule()
        return module
      })
      .catch((e: unknown) => {
        loading = undefined
        throw e
      })
    return loading
  },
  catch: () => refuse("the SQL parser could not be loaded, so no statement can be checked")
})

const nameOf = (node: unknown): string => ((node as { String?: { sval?: string } }).String?.sval ?? "").toString()

/** Walks the parse tree; returns the first reason to refuse, if any. */
const inspect = (root: unknown): string | undefined => {
  const stack: Array<unknown> = [root]
  while (stack.length > 0) {
    const node = stack.pop()
    if (Array.isArray(node)) {
      for (const item of node) stack.push(item)
      continue
    }
    if (typeof node !== "object" || node === null) continue
    for (const [key, value] of Object.entries(node)) {
      if (key.endsWith("Stmt") && key !== "SelectStmt") {
        return `a ${label(key)} statement inside the query is refused: only reads may run`
      }
      if ((key === "intoClause" || key === "IntoClause") && value !== null) {
        return "SELECT INTO is refused: it creates a table"
      }
      if ((key === "lockingClause" || key === "LockingClause") && value !== null) {
        return "locking clauses (FOR UPDATE, FOR SHARE…) are refused"
      }
      if (key === "FuncCall") {
        const names = ((value as { funcname?: Array<unknown> }).funcname ?? []).map(nameOf)
        const reason = functionRefusal(names[names.length - 1] ?? "")
        if (reason !== undefined) return reason
      }
      // Attribute notation calls a function too: `(x).pg_sleep` is `pg_sleep(x)`, and `t.f` may be
      // `f(t)`. Every field name is held to the same rule (a column of that name is refused too).
      if (key === "A_Indirection" || key === "ColumnRef") {
        const fields = (value as { indirection?: Array<unknown>; fields?: Array<unknown> })[
          key === "A_Indirection" ? "indirection" : "fields"
        ]
        for (const field of fields ?? []) {
          const reason = functionRefusal(nameOf(field))
          if (reason !== undefined && nameOf(field) !== "") return reason
        }
      }
      stack.push(value)
    }
  }
  return undefined
}

/** `VariableSetStmt` → `VARIABLE SET`. */
const label = (kind: string): string =>
  kind
    .replace(/Stmt$/, "")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toUpperCase()

const kindOf = (stmt: Record<string, unknown>): string => Object.keys(stmt)[0] ?? "empty"

const checkStatement = (stmt: Record<string, unknown>): string | undefined => {
  const kind = kindOf(stmt)
  if (kind === "SelectStmt") return inspect(stmt.SelectStmt)
  if (kind === "VariableShowStmt") return undefined
  if (kind === "ExplainStmt") {
    const explain = stmt.ExplainStmt as { query?: Record<string, unknown>; options?: Array<unknown> }
    const analyze = (explain.options ?? []).some(
      (o) => ((o as { DefElem?: { defname?: string } }).DefElem?.defname ?? "").toLowerCase() === "analyze"
    )
    if (analyze) return "EXPLAIN ANALYZE is refused: it runs the statement"
    if (explain.query === undefined || kindOf(explain.query) !== "SelectStmt") {
      return "EXPLAIN is allowed of a query only"
    }
    return inspect(explain.query)
  }
  return `${label(kind)} statements are refused: only SELECT, WITH, VALUES, TABLE, EXPLAIN (without ANALYZE) and SHOW may run`
}

/**
 * Checks that `statement` is one read-only statement, as PostgreSQL's parser reads it.
 * Fails with `QueryRefusedError` naming what was refused (a syntax error included).
 */
export const check = (statement: string): Effect.Effect<void, QueryRefusedError> =>
  Effect.gen(function* () {
    if (statement.includes("\u0000")) return yield* refuse("the statement contains a NUL character")
    const parser = yield* load
    const tree = yield* Effect.try({
      try: () => parser.parseSync(statement) as { stmts?: Array<{ stmt?: Record<string, unknown> }> },
      catch: (e) => {
        const details = (e as { sqlDetails?: { cursorPosition?: number } }).sqlDetails
        const at = details?.cursorPosition === undefined ? "" : ` (at character ${details.cursorPosition + 1})`
        return refuse(`not valid SQL: ${e instanceof Error ? e.message : String(e)}${at}`)
      }
    })
    const stmts = tree.stmts ?? []
    if (stmts.length !== 1 || stmts[0]?.stmt === undefined) {
      return yield* refuse(
        stmts.length === 0 ? "the statement is empty" : `exactly one statement may run, got ${stmts.length}`
      )
    }
    const reason = checkStatement(stmts[0].stmt)
    if (reason !== undefined) return yield* refuse(reason)
  })
