import { Console, Effect } from "effect"

/** How results are printed: aligned columns for people, or JSON / CSV for programs. */
export type Format = "table" | "json" | "csv"

/** A cell value: printed as is in JSON, as text in tables and CSV (dates as ISO 8601). */
export type Cell = string | number | boolean | null | undefined | Date

/** A database value as a cell: bigints as text, bytes as `\x…` hex, anything else structured as JSON. */
export const cellOf = (v: unknown): Cell =>
  v === null ||
  v === undefined ||
  typeof v === "string" ||
  typeof v === "number" ||
  typeof v === "boolean" ||
  v instanceof Date
    ? v
    : typeof v === "bigint"
      ? v.toString()
      : v instanceof Uint8Array
        ? `\\x${Buffer.from(v).toString("hex")}`
        : JSON.stringify(v)

/** Rows with named columns, in column order. */
export interface Rows {
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<Cell>>
}

/**
 * Unicode format characters: direction overrides and isolates (U+202A–U+202E, U+2066–U+2069), marks,
 * zero-width characters and the like. They show nothing of themselves, and can make one text look
 * like another (`user/\u202Eecila` reads as `user/alice`).
 */
const formatCharacter = /\p{Cf}/u

/**
 * Makes stored text safe for a terminal: control characters (ESC, CR, NUL…) and invisible format
 * characters are shown escaped, so what is printed is what is stored.
 */
export const safe = (text: string): string => {
  let out = ""
  for (const char of text) {
    const code = char.codePointAt(0)!
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) {
      out += code === 0x0a ? "\\n" : code === 0x09 ? "\\t" : `\\x${code.toString(16).padStart(2, "0")}`
    } else if (formatCharacter.test(char)) {
      out += `\\u{${code.toString(16).toUpperCase()}}`
    } else {
      out += char
    }
  }
  return out
}

/** Code points a terminal shows in two columns: East Asian wide and fullwidth forms, and emoji. */
const wide =
  /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6\u{1F300}-\u{1F64F}\u{1F900}-\u{1F9FF}\u{20000}-\u{3FFFD}]/u
/** Code points that take no column: combining marks (variation selectors among them) and zero-width characters. */
const zero = /[\p{Mn}\p{Me}\u200B-\u200F\u2060]/u

/** The columns one code point takes in a terminal. */
const charWidth = (c: string): number => (zero.test(c) ? 0 : wide.test(c) ? 2 : 1)

/** The columns a text takes in a terminal (not its `.length`: wide characters take two, combining marks none). */
export const displayWidth = (value: string): number => {
  let width = 0
  for (const c of value) width += charWidth(c)
  return width
}

const pad = (value: string, width: number) => value + " ".repeat(Math.max(0, width - displayWidth(value)))

const text = (cell: Cell): string =>
  cell === null || cell === undefined ? "" : cell instanceof Date ? cell.toISOString() : String(cell)

const jsonValue = (cell: Cell): unknown => (cell instanceof Date ? cell.toISOString() : (cell ?? null))

/**
 * A text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, after any leading whitespace, or a
 * leading tab or CR), unless it is a plain number: it gets a leading `'`, which spreadsheets show as
 * text, as OWASP recommends for CSV exports.
 */
const formulaLike = (value: string) =>
  /^[\t\r]/.test(value) || (/^\s*[=+\-@]/.test(value) && !/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value))

const csvCell = (cell: Cell, terminal: boolean): string => {
  const raw = text(cell)
  const guarded = typeof cell === "string" && formulaLike(raw) ? `'${raw}` : raw
  // On a terminal, control and format characters are shown escaped, as in a table.
  const value = terminal ? safe(guarded) : guarded
  return /[",\n\r]/.test(value) || value !== raw || /^\s/.test(value) ? `"${value.replaceAll('"', '""')}"` : value
}

/** The narrowest a column is cut to when a table must fit a terminal. */
const minimumColumn = 6

/**
 * Column widths that fit `total` terminal columns (two-space gaps included): the widest columns are
 * narrowed to one common cap, as little as needed, none below `minimumColumn` (or its own width).
 */
const fitted = (widths: ReadonlyArray<number>, total: number): ReadonlyArray<number> => {
  const room = total - 2 * (widths.length - 1)
  const sum = (cap: number) => widths.reduce((acc, w) => acc + Math.min(w, Math.max(cap, minimumColumn)), 0)
  if (sum(Number.POSITIVE_INFINITY) <= room) return widths
  let cap = Math.max(...widths)
  while (cap > minimumColumn && sum(cap) > room) cap--
  return widths.map((w) => Math.min(w, Math.max(cap, minimumColumn)))
}

/** `value` cut to `width` terminal columns, its last one a visible "…" when anything was cut. */
export const cut = (value: string, width: number): string => {
  if (displayWidth(value) <= width) return value
  let out = ""
  let used = 0
  for (const c of value) {
    const w = charWidth(c)
    if (used + w > width - 1) break
    out += c
    used += w
  }
  return `${out}…`
}

/**
 * Renders rows in a format: an aligned table, a JSON array of objects, or RFC 4180 CSV. A table
 * given the terminal's `width` fits it: the longest cells are cut, ending in "…"; JSON and CSV
 * always keep everything. CSV cells a spreadsheet would run as formulas start with `'`; on a
 * `terminal`, CSV shows control and format characters escaped, as tables always do.
 */
export const render = (format: Format, data: Rows, width?: number, terminal = false): string => {
  switch (format) {
    case "json":
      return JSON.stringify(
        data.rows.map((row) => Object.fromEntries(data.columns.map((c, i) => [c, jsonValue(row[i])]))),
        null,
        2
      )
    case "csv":
      return [data.columns, ...data.rows].map((row) => row.map((c) => csvCell(c, terminal)).join(",")).join("\n")
    case "table": {
      const natural = [data.columns.map(safe), ...data.rows.map((row) => row.map((c) => safe(text(c))))]
      const all = data.columns.map((_, i) => Math.max(...natural.map((row) => displayWidth(row[i] ?? ""))))
      const widths = width === undefined ? all : fitted(all, width)
      const cells = natural.map((row) => row.map((c, i) => cut(c, widths[i]!)))
      const line = (row: ReadonlyArray<string>) =>
        row
          .map((c, i) => (i === row.length - 1 ? c : pad(c, widths[i]!)))
          .join("  ")
          .trimEnd()
      return [line(cells[0]!), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)].join("\n")
    }
  }
}

/** Prints rows to stdout; a table on a terminal fits its width. */
export const print = (format: Format, data: Rows) =>
  Console.log(render(format, data, terminalWidth(), process.stdout.isTTY === true))

/** The width of the terminal stdout is, if it is one with a usable size (a pseudo-terminal without one says 0). */
const terminalWidth = (): number | undefined =>
  process.stdout.isTTY && process.stdout.columns >= 20 ? process.stdout.columns : undefined

/**
 * Whether `stream` gets colour: a terminal does, unless NO_COLOR is set (no-color.org); FORCE_COLOR
 * (other than "0") asks for it anywhere. The launcher (scripts/launcher.js) applies the same rule.
 */
export const colour = (stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean =>
  env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0"
    ? true
    : (env.NO_COLOR ?? "") !== ""
      ? false
      : stream.isTTY === true

const styleEscape = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g")

/** `text` without its colour and style escapes. */
export const plain = (text: string): string => text.replace(styleEscape, "")

/**
 * Runs `effect` with stdout's colour rule: @effect/cli styles its help pages whatever stdout is, so
 * where stdout gets no colour, what goes through `Console.log` loses its escapes.
 */
export const withColourRule = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  colour(process.stdout)
    ? effect
    : Effect.consoleWith((console) =>
        Effect.withConsole(effect, {
          ...console,
          log: (...args) => console.log(...args.map((arg) => (typeof arg === "string" ? plain(arg) : arg)))
        })
      )

/** Prints a JSON value to stdout (for `--output json` of documents). */
export const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

/** A progress line on stderr, only when stderr is a terminal. */
export const progress = (message: string) =>
  process.stderr.isTTY ? Effect.sync(() => process.stderr.write(`${safe(message)}\n`)) : Effect.void
