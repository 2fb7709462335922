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
})
