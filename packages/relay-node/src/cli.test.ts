import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@pubsubbud/client";
import WebSocket from "ws";
import { afterEach, describe, expect, it } from "vitest";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

function run(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = once(child, "exit").then(([code]) => code as number);
  const output = () => ({ stdout, stderr });
  const line = async (pattern: RegExp): Promise<RegExpMatchArray> => {
    for (;;) {
      const match = pattern.exec(stdout);
      if (match) return match;
      await Promise.race([once(child.stdout, "data"), exited]);
      if (child.exitCode !== null && !pattern.exec(stdout)) throw new Error(`exited: ${stderr}`);
    }
  };
  return { child, exited, output, line };
}

describe("pubsubbud relay (CLI)", () => {
  it("serves the relay and its live page, and on SIGTERM tells clients to reconnect with a delay", async () => {
    const relay = run(["relay", "--port", "0", "--log-level", "warn"]);
    const [, wsUrl] = await relay.line(/PubsubBud relay on (ws:\/\/\S+)/);
    const [, pageUrl] = await relay.line(/Live page: (http:\/\/\S+)/);
    const page = await fetch(pageUrl as string);
    expect(await page.text()).toContain("<title>PubsubBud relay</title>");
    const client = createClient({ url: wsUrl as string, WebSocket });
    const closes: Array<number | undefined> = [];
    client.addEventListener(
      "state",
      (e) => e.detail.state === "reconnecting" && closes.push(e.detail.code),
    );
    await client.publish("cli.test", 1);
    relay.child.kill("SIGTERM");
    expect(await relay.exited).toBe(0);
    expect(closes).toEqual([4100]);
    client.close();
  });

  it("refuses an unknown broker URL and bad flags with a message that says what to fix", async () => {
    const bad = run(["relay", "--port", "0", "--broker", "nosuch://x"]);
    expect(await bad.exited).toBe(1);
    expect(bad.output().stderr).toMatch(
      /\[bad_broker\] unknown broker URL "nosuch:\/\/x": supported are memory/,
    );
    // Nothing listens on port 1: the error names the URL and what to check.
    const down = run(["relay", "--port", "0", "--broker", "redis://127.0.0.1:1"]);
    expect(await down.exited).toBe(1);
    expect(down.output().stderr).toMatch(
      /\[bad_broker\] broker redis:\/\/127\.0\.0\.1:1: .*Check that Redis runs there/,
    );
    const port = run(["relay", "--port", "99999"]);
    expect(await port.exited).toBe(1);
    expect(port.output().stderr).toMatch(/port \(from flag --port\)/);
  });

  it("runs on a broker chosen by URL, with its options from the config file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pubsubbud-cli-"));
    const config = join(dir, "relay.json");
    writeFileSync(config, JSON.stringify({ brokerOptions: { segmentMessages: 2 } }));
    const relay = run([
      "relay",
      "--port",
      "0",
      "--config",
      config,
      "--broker",
      `file://${dir}/log`,
    ]);
    const [, wsUrl] = await relay.line(/PubsubBud relay on (ws:\/\/\S+)/);
    const client = createClient({ url: `${wsUrl}/ns/cli`, WebSocket });
    for (let i = 0; i < 3; i++) await client.publish("cli.file", i);
    client.close();
    expect(readdirSync(join(dir, "log", "cli")).sort()).toEqual([
      "00000000000000000001.log",
      "00000000000000000003.log",
      "epoch",
    ]);
  });

  it("names an unknown flag, command or stray argument, prints the usage and exits 2", async () => {
    const cases: Array<[string[], string]> = [
      [["relay", "--prot", "9"], "unknown option --prot"],
      [["rely"], 'unknown command "rely": use relay or token'],
      [[], "name a command: relay or token"],
      [["relay", "extra"], 'unexpected argument "extra"'],
      [["relay", "--user", "ann"], "--user is not an option of pubsubbud relay"],
      [["token", "--port", "1"], "--port is not an option of pubsubbud token"],
      [["relay", "--port"], "option --port needs a value"],
    ];
    const help = run(["--help"]);
    const runs = cases.map(([args]) => run(args));
    await help.exited;
    const usage = help.output().stdout;
    expect(usage).toMatch(/^Usage: pubsubbud relay \[options\]\n/);
    for (const [i, [args, message]] of cases.entries()) {
      const cli = runs[i] as ReturnType<typeof run>;
      expect(await cli.exited, args.join(" ")).toBe(2);
      expect(cli.output()).toEqual({ stdout: "", stderr: `pubsubbud: ${message}\n\n${usage}` });
    }
  }, 60_000);

  it("names the config file in a config error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pubsubbud-cli-"));
    const config = join(dir, "relay.json");
    writeFileSync(config, JSON.stringify({ port: "eighty", limits: { nope: 1 } }));
    const bad = run(["relay", "--config", config]);
    expect(await bad.exited).toBe(1);
    const { stderr } = bad.output();
    expect(stderr).toContain(`port (from config file ${config}): `);
    expect(stderr).toContain(`limits (from config file ${config}): unknown setting limits.nope`);
    const absent = run(["relay", "--config", join(dir, "absent.json")]);
    expect(await absent.exited).toBe(1);
    expect(absent.output().stderr).toBe(
      `pubsubbud: [bad_config] config file ${join(dir, "absent.json")} cannot be read (ENOENT); check the path given to --config\n`,
    );
  });

  it("prints usage with --help", async () => {
    const help = run(["--help"]);
    expect(await help.exited).toBe(0);
    expect(help.output().stdout).toMatch(/Usage: pubsubbud relay/);
  });
});
