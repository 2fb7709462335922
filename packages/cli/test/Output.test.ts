import { FastCheck as fc } from "effect"
import { assert, describe, it } from "vitest"
import { displayWidth, render } from "../src/Output.js"

// Invariant: in a table, every column starts at the same terminal column on every line, whatever
// the cells hold (wide CJK characters and emoji take two columns, combining marks none).

const pieces = ["a", "Z", "7", " ", "日", "本", "한", "😀", "e\u0301", "\u0303", "ｱ", "-"]

describe("table output", () => {
  it("measures display width, not length", () => {
    assert.strictEqual(displayWidth("abc"), 3)
    assert.strictEqual(displayWidth("日本"), 4)
    assert.strictEqual(displayWidth("e\u0301"), 1)
    assert.strictEqual(displayWidth("😀"), 2)
  })

  it("aligns every column on every line, for generated cells of mixed widths", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.constantFrom(...pieces), { maxLength: 6 }).map((p) => p.join("")),
          {
            minLength: 1,
            maxLength: 6
          }
        ),
        (firsts) => {
          // The second column holds a unique marker per row; it must start at the same column.
          const rows = firsts.map((first, i) => [first, `#${i}#`, "end"])
          const lines = render("table", { columns: ["first", "marker", "last"], rows })
            .split("\n")
            .slice(2)
          const starts = lines.map((line, i) => displayWidth(line.slice(0, line.indexOf(`#${i}#`))))
          assert.strictEqual(new Set(starts).size, 1, JSON.stringify(lines))
          const ends = lines.map((line) => displayWidth(line.slice(0, line.lastIndexOf("end"))))
          assert.strictEqual(new Set(ends).size, 1, JSON.stringify(lines))
        }
      ),
      { numRuns: 200 }
    )
  })

  // Invariant: a table rendered for a terminal of W columns has no line wider than W (when W leaves
  // every column its minimum); a cell is either whole or a prefix of itself ending in "…"; JSON
  // keeps every cell whole whatever the width.
  it("fits a terminal's width by cutting the longest cells with a visible marker", () => {
    const cell = fc.array(fc.constantFrom(...pieces, "x", "y"), { maxLength: 40 }).map((p) => p.join(""))
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 5 })
          .chain((n) =>
            fc.tuple(
              fc.array(fc.array(cell, { minLength: n, maxLength: n }), { minLength: 1, maxLength: 6 }),
              fc.constant(n),
              fc.integer({ min: 40, max: 160 })
            )
          ),
        ([rows, n, width]) => {
          const columns = Array.from({ length: n }, (_, i) => `c${i}`)
          const lines = render("table", { columns, rows }, width).split("\n")
          for (const line of lines) assert.isAtMost(displayWidth(line), width, JSON.stringify(lines))
          // Every cell is on its line whole, or as a prefix of itself followed by "…".
          for (const [i, row] of [columns, ...rows].entries()) {
            const line = lines[i === 0 ? 0 : i + 1]!
            for (const value of row) {
              const chars = [...value.trimEnd()]
              const shown =
                line.includes(value.trimEnd()) || chars.some((_, k) => line.includes(`${chars.slice(0, k).join("")}…`))
              assert.isTrue(shown, JSON.stringify({ line, value }))
            }
          }
          const json = JSON.parse(render("json", { columns, rows }, width)) as Array<Record<string, string>>
          assert.deepStrictEqual(
            json.map((o) => columns.map((c) => o[c])),
            rows
          )
        }
      ),
      { numRuns: 200 }
    )
  })

  it("cuts a long cell to a prefix of itself and leaves short ones whole", () => {
    const long = "x".repeat(200)
    const lines = render("table", { columns: ["id", "changes"], rows: [["abc", long]] }, 50).split("\n")
    assert.strictEqual(lines[2], `abc  ${"x".repeat(44)}…`)
    assert.strictEqual(displayWidth(lines[2]!), 50)
  })
})

// Invariant: what a table shows, and CSV on a terminal, holds no character that acts instead of
// showing (controls, direction overrides, zero-width characters): printed text is stored text,
// escaped. And no CSV cell starts like a formula a spreadsheet would run.
describe("output an attacker wrote into the store", () => {
  const hostile = fc
    .array(
      fc.oneof(
        fc.constantFrom(
          "\u202e",
          "\u202c",
          "\u2066",
          "\u200b",
          "\u200d",
          "\ufeff",
          "\u001b[2J",
          "\u001b]8;;x\u0007",
          "\r",
          "\u0000"
        ),
        fc.string({ maxLength: 4 }),
        fc.constantFrom("=", "+", "-", "@", " ", "\t", "alice", "1")
      ),
      { maxLength: 8 }
    )
    .map((parts) => parts.join(""))
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
  const acts = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]|\p{Cf}/u

  it("tables and CSV on a terminal escape every control and format character (property)", () => {
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 1, maxLength: 4 }), (cells) => {
        const data = { columns: ["a", "b", "c", "d"], rows: [cells] }
        for (const out of [render("table", data), render("csv", data, undefined, true)]) {
          for (const line of out.split("\n")) assert.notMatch(line, acts, JSON.stringify(line))
        }
      }),
      { numRuns: 300 }
    )
  })

  it("no CSV cell starts a formula, whatever text it holds; numbers stay numbers (property)", () => {
    fc.assert(
      fc.property(hostile, (cell) => {
        const out = render("csv", { columns: ["x"], rows: [[cell]] })
          .split("\n")
          .slice(1)
          .join("\n")
        const field = out.startsWith('"') ? out.slice(1, -1).replaceAll('""', '"') : out
        const number = /^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(cell)
        if (!number) assert.notMatch(field, /^\s*[=+\-@]|^[\t\r]/, JSON.stringify(out))
        // The text is all there, after the guard.
        assert.isTrue(field === cell || field === `'${cell}`, JSON.stringify([cell, out]))
      }),
      { numRuns: 300 }
    )
    assert.strictEqual(
      render("csv", { columns: ["n"], rows: [["-5"], [-5], ["=1+1"], [" =1+1"]] }),
      `n\n-5\n-5\n"'=1+1"\n"' =1+1"`
    )
  })

  it("a direction override cannot make one approver read as another", () => {
    const out = render("table", { columns: ["decided_by"], rows: [["arn:aws:iam::1:user/\u202eecila\u202c"]] })
    assert.include(out, "user/\\u{202E}ecila\\u{202C}")
    assert.notInclude(out, "\u202e")
  })
})
