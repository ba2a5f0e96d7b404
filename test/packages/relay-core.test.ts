/**
 * relay-core as a package: its public index holds what a user builds with (the engine, auth,
 * the broker contract, the memory broker); what the relays and broker adapters share is behind
 * `@pubsubbud/relay-core/internal`; publint and Are the Types Wrong find nothing in either.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as internal from "@pubsubbud/relay-core/internal";
import * as core from "@pubsubbud/relay-core";
import { describe, expect, it } from "vitest";

const relayCore = fileURLToPath(new URL("../../packages/relay-core", import.meta.url));
const bin = (name: string) =>
  fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

describe("relay-core package", () => {
  it("keeps the adapters' helpers out of the public index and in ./internal", () => {
    const shared = ["getOrCreate", "randomId", "MemoryLog", "SubscriptionIndex", "admitUpgrade"];
    for (const name of shared) {
      expect(Object.keys(core)).not.toContain(name);
      expect(Object.keys(internal)).toContain(name);
    }
    expect(Object.keys(core)).toEqual(
      expect.arrayContaining([
        "createRelayCore",
        "createJwtAuth",
        "createMemoryBroker",
        "dedupeKey",
      ]),
    );
  });

  it("passes publint and Are the Types Wrong (ESM, CJS, node10, node16, bundler)", () => {
    expect(execFileSync(bin("publint"), ["--strict", relayCore], { encoding: "utf8" })).toMatch(
      /Lint|No problems/,
    );
    // attw exits non-zero on a problem. node10 resolution has no subpaths, so `./internal`
    // cannot resolve there: that one resolver is left out (the public index resolves in all).
    const report = execFileSync(
      bin("attw"),
      ["--pack", relayCore, "--format", "ascii", "--ignore-rules", "no-resolution"],
      { encoding: "utf8" },
    );
    const root = report.slice(
      report.indexOf('"@pubsubbud/relay-core"'),
      report.indexOf("/internal"),
    );
    expect(root).toMatch(/node10: 🟢/);
    expect(
      report
        .split("\n")
        .filter((line) => /💀|❌|❗️/.test(line) && !/\(ignored\)|ignored per/.test(line)),
    ).toEqual([]);
  }, 60_000);
});
