import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "vitest"
import { run, start, tempDir, until } from "./utils.js"

const emulatorBin = fileURLToPath(new URL("../../emulator/dist/bin.js", import.meta.url))

describe("pipetrail CLI without a store", { timeout: 120_000 }, () => {
  it("answers --version and --help without loading the CLI, with exactly what the CLI prints", async () => {
    // `--log-level warning` in front makes the launcher hand the same request to the full CLI.
    for (const args of [["--version"], ["--help"], []]) {
      for (const env of [{}, { FORCE_COLOR: "1" }]) {
        const fast = await run(args, env)
        const full = await run(["--log-level", "warning", ...args], env)
        assert.strictEqual(fast.code, 0, fast.stderr)
        assert.strictEqual(full.code, 0, full.stderr)
        assert.strictEqual(fast.stdout, full.stdout, `pipetrail ${args.join(" ")} with ${JSON.stringify(env)}`)
      }
    }
    assert.strictEqual((await run(["--version"])).stdout, "0.1.0\n")
  })

  it("colours help only where it should: a terminal or FORCE_COLOR, and never under NO_COLOR alone", async () => {
    // Every combination: FORCE_COLOR (other than "0") wins; a non-empty NO_COLOR turns colour off;
    // otherwise colour follows stdout being a terminal, which a test's pipe is not.
    for (const force of [undefined, "0", "1", "true"]) {
      for (const noColor of [undefined, "", "1"]) {
        const env = { FORCE_COLOR: force, NO_COLOR: noColor }
        const expected = force !== undefined && force !== "0"
        // The launcher's answer and a help page of the full CLI.
        for (const args of [["--help"], ["history", "--help"]]) {
          const result = await run(args, env)
          assert.strictEqual(result.code, 0, result.stderr)
          assert.include(result.stdout, "USAGE")
          assert.strictEqual(
            result.stdout.includes("\u001b["),
            expected,
            `${args.join(" ")} with ${JSON.stringify(env)}`
          )
        }
      }
    }
  })

  it("emulator runs in the foreground, serves the SDK protocol and stops on SIGTERM", async () => {
    const em = start(["emulator", "--port", "0", "--seed", "3"])
    await until(() => /listening on (http:\/\/127\.0\.0\.1:\d+)/.test(em.stdout()), 20_000, "the emulator to listen")
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(em.stdout())![1]!
    const response = await fetch(url, {
      method: "POST",
      headers: { "x-amz-target": "CodePipeline_20150709.ListPipelines", "content-type": "application/x-amz-json-1.1" },
      body: "{}"
    })
    const body = (await response.json()) as { pipelines: Array<unknown> }
    assert.strictEqual(body.pipelines.length, 3)
    em.child.kill("SIGTERM")
    const result = await em.done
    assert.strictEqual(result.code, 0, result.stderr)
  })

  it("both emulator command lines refuse the same impossible options with exit 2, by the emulator's rules", async () => {
    for (const args of [
      ["--port=70000"],
      ["--speed=-1"],
      ["--error-rate=1.5"],
      ["--throttle-rate=0.5"],
      ["--executions", "1000001"]
    ]) {
      const cli = await run(["emulator", ...args])
      const standalone = spawnSync(process.execPath, [emulatorBin, ...args], { encoding: "utf8", timeout: 30_000 })
      assert.strictEqual(cli.code, 2, `pipetrail emulator ${args.join(" ")}: ${cli.stderr}`)
      assert.strictEqual(standalone.status, 2, `pipetrail-emulator ${args.join(" ")}: ${standalone.stderr}`)
      // The same rule, in the same words.
      const rule = (text: string) => /(must [^\n]*)/.exec(text)?.[1]
      assert.isDefined(rule(standalone.stderr), standalone.stderr)
      assert.strictEqual(rule(cli.stderr), rule(standalone.stderr))
    }
  })

  it("never prints the database password, even at debug level", async () => {
    const password = "Sup3r-Secret-Passw0rd"
    const result = await run([
      "executions",
      "--database-url",
      `postgres://pipetrail:${password}@127.0.0.1:1/pipetrail`,
      "--log-level",
      "debug"
    ])
    assert.strictEqual(result.code, 1)
    assert.match(result.stderr, /ECONNREFUSED/)
    assert.include(result.stderr, "check --database-url (or PIPETRAIL_DATABASE_URL) and that the database is reachable")
    assert.notInclude(result.stdout + result.stderr, password)
  })

  it("demo runs end to end on the embedded store in well under a minute, on today's timeline", async () => {
    const dataDir = tempDir()
    const before = Date.now()
    const result = await run(["demo", "--data-dir", dataDir], {}, 110_000)
    assert.strictEqual(result.code, 0, result.stderr)
    // The emulator's clock ends at about the time the demo ran (it starts 30 minutes earlier and
    // the demo lets them pass): the newest execution started before now, within the last hours,
    // and the store first saw it during the demo.
    const times = await run([
      "sql",
      "--data-dir",
      dataDir,
      "-o",
      "json",
      "select extract(epoch from max(start_time)) * 1000 as started, extract(epoch from max(first_seen_at)) * 1000 as seen from latest_execution"
    ])
    assert.strictEqual(times.code, 0, times.stderr)
    const [row] = JSON.parse(times.stdout) as Array<{ started: string; seen: string }>
    assert.isAtLeast(Number(row?.started), before - 2 * 3600_000, times.stdout)
    assert.isAtMost(Number(row?.started), Date.now(), times.stdout)
    assert.isAtLeast(Number(row?.seen), before - 1000, times.stdout)
    for (const section of [
      "== snapshot 3 pipelines",
      "== 30 minutes pass",
      "== history of",
      "== pipetrail diff --snapshots",
      "== delivery metrics"
    ]) {
      assert.include(result.stdout, section)
    }
    assert.match(result.stdout, /deployments/)
  })
})
