import { describe, it } from "vitest"
import { cliSuite } from "./suite.js"
import { postgresUrl } from "./utils.js"

if (postgresUrl === undefined) {
  describe.skip("pipetrail CLI on postgres (set PIPETRAIL_TEST_DATABASE_URL)", () => {
    it("needs PostgreSQL", () => undefined)
  })
} else {
  cliSuite("postgres")
}
