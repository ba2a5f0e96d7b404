/**
 * relay-node installed without any broker client library, as a memory-broker user gets it: the
 * packed package in a fresh node_modules with only its own dependencies (the driver libraries
 * are optional peers). The memory broker runs; `--broker redis://…` fails with `missing_driver`
 * naming exactly what to install; the table of drivers matches the package's peer dependencies.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const relayNode = join(root, "packages/relay-node");
const manifest = JSON.parse(readFileSync(join(relayNode, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

describe("relay-node without broker drivers", () => {
  let app: string;
  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), "pubsubbud-no-drivers-"));
    const modules = join(app, "node_modules");
    mkdirSync(join(modules, "@pubsubbud"), { recursive: true });
    // A copy, so its imports resolve from here (where no driver is) and not from the repo.
    cpSync(join(relayNode, "dist"), join(modules, "@pubsubbud/relay-node/dist"), {
      recursive: true,
    });
    cpSync(join(relayNode, "package.json"), join(modules, "@pubsubbud/relay-node/package.json"));
    for (const dependency of Object.keys(manifest.dependencies)) {
      const from = dependency.startsWith("@pubsubbud/")
        ? join(root, "packages", dependency.slice("@pubsubbud/".length))
        : join(root, "node_modules", dependency);
      symlinkSync(from, join(modules, dependency), "dir");
    }
  });
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  const node = (script: string) =>
    execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: app,
      encoding: "utf8",
    });

  it("declares every driver an optional peer dependency, and no driver a dependency", () => {
    const drivers = Object.keys(manifest.peerDependencies);
    expect(drivers.sort()).toEqual(
      [
        "@nats-io/jetstream",
        "@nats-io/nats-core",
        "@nats-io/transport-node",
        "@platformatic/kafka",
        "amqplib",
        "ioredis",
        "mqtt",
        "pg",
      ].sort(),
    );
    for (const driver of drivers) {
      expect(manifest.peerDependenciesMeta[driver]?.optional).toBe(true);
      expect(manifest.dependencies[driver]).toBeUndefined();
    }
  });

  it("runs a relay on the memory broker", () => {
    const out = node(`
      import { createRelay } from "@pubsubbud/relay-node";
      const relay = await createRelay().listen({ port: 0 });
      const published = await relay.core.publish("default", { channel: "a", data: 1 });
      console.log(JSON.stringify(published));
      await relay.close();
    `);
    expect(JSON.parse(out)).toMatchObject({ offset: expect.any(String), duplicate: false });
  });

  it("refuses --broker redis:// with missing_driver and the exact npm i line", () => {
    const cli = join(app, "node_modules/@pubsubbud/relay-node/dist/cli.js");
    const result = spawnSync(
      process.execPath,
      [cli, "relay", "--port", "0", "--broker", "redis://127.0.0.1:6379"],
      { cwd: app, encoding: "utf8", timeout: 20_000 },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `[missing_driver] the redis broker needs its client library ioredis, which is not installed: run npm i ioredis@${manifest.peerDependencies.ioredis}`,
    );
  });

  it("names every package of a broker that needs several, at the tested versions (CommonJS too)", () => {
    const out = execFileSync(
      process.execPath,
      [
        "-e",
        `require("@pubsubbud/relay-node").createBrokerFromUrl("nats://127.0.0.1:4222").catch((e) => console.log(e.code + " " + e.message));`,
      ],
      { cwd: app, encoding: "utf8" },
    );
    const versions = ["@nats-io/jetstream", "@nats-io/nats-core", "@nats-io/transport-node"].map(
      (name) => `${name}@${manifest.peerDependencies[name]}`,
    );
    expect(out).toContain(`missing_driver the nats broker needs its client library`);
    expect(out).toContain(`run npm i ${versions.join(" ")}`);
  });
});
