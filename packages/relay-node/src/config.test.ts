import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

const file = (content: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "pubsubbud-config-")), "relay.json");
  writeFileSync(path, content);
  return path;
};

describe("loadConfig", () => {
  it("uses defaults, then the file, then the environment, then flags", () => {
    expect(loadConfig()).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      broker: "memory",
      logLevel: "info",
    });
    const path = file(
      JSON.stringify({ port: 9000, host: "0.0.0.0", limits: { maxFrameBytes: 1024 } }),
    );
    const config = loadConfig({
      file: path,
      env: { PUBSUBBUD_PORT: "9100" },
      flags: { host: "127.0.0.2" },
    });
    expect(config).toMatchObject({
      port: 9100,
      host: "127.0.0.2",
      limits: { maxFrameBytes: 1024 },
    });
  });

  it("names the field, where it came from and what is wrong", () => {
    expect(() => loadConfig({ env: { PUBSUBBUD_PORT: "eighty" } })).toThrow(
      /port \(from environment variable PUBSUBBUD_PORT\)/,
    );
    expect(() => loadConfig({ file: file('{"limits":{"maxFrameBytes":-1}}') })).toThrow(
      /limits\.maxFrameBytes \(from config file .*relay\.json\): .*>0/,
    );
    expect(() => loadConfig({ file: file('{"limits":{"maxFramBytes":10}}') })).toThrow(
      /unknown setting limits\.maxFramBytes/,
    );
    expect(() => loadConfig({ file: file('{"prot":1}') })).toThrow(/unknown setting prot/);
    expect(() => loadConfig({ flags: { logLevel: "loud" } })).toThrow(
      /logLevel \(from flag --log-level\)/,
    );
  });

  it("explains unreadable and malformed files", () => {
    expect(() => loadConfig({ file: "/nonexistent/relay.json" })).toThrow(
      /cannot be read \(ENOENT\)/,
    );
    expect(() => loadConfig({ file: file("{oops") })).toThrow(/is not valid JSON/);
    expect(() => loadConfig({ file: file("[]") })).toThrow(/must hold a JSON object/);
  });
});
