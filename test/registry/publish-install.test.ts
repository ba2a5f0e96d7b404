/**
 * The packages as someone outside the repository gets them: every workspace package is published
 * with `changeset publish` to a real local npm registry (verdaccio, storage in a temp dir, the
 * npm registry as uplink for everything else), then two apps in fresh folders under os.tmpdir()
 * install through that registry only: a Vite page plus a Node service on @pubsubbud/relay-node,
 * run in Chromium, and a Worker on @pubsubbud/relay-worker built by wrangler and run in workerd.
 * Slow by nature (real installs); without the registry it is skipped, and fails in CI.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumMissing, launchChromium } from "../helpers/chromium.js";
import { type RelayProcess, startRelayProcess } from "../helpers/relay-process.js";
import { missing } from "../helpers/requirements.js";
import { startWorker } from "../helpers/workerd.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURES = fileURLToPath(new URL("./", import.meta.url));
const PACKAGES = ["protocol", "relay-core", "client", "relay-node", "relay-worker"];
/** What the apps install besides @pubsubbud/*, exact like every dependency here. */
const VITE = "8.3.8";
const WRANGLER = "4.86.0";
const WS = "8.23.0";
const UPLINK = process.env.npm_config_registry ?? "https://registry.npmjs.org/";
const INSTALL_TIMEOUT = 10 * 60_000;

const version = (name: string): string =>
  JSON.parse(readFileSync(join(ROOT, "packages", name, "package.json"), "utf8")).version;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; throws with its output when it fails. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const ran = { code, stdout, stderr };
      if (code === 0) resolve(ran);
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${stdout}\n${stderr}`));
    });
  });
}

let work: string;
let registry: RelayProcess | undefined;
let registryUrl = "";
let unavailable = false;
/** npm's environment: this test's registry and credentials only, nothing inherited from npm test. */
let npmEnv: NodeJS.ProcessEnv;

/** Writes the verdaccio config: @pubsubbud/* only from what was published here. */
function writeRegistryConfig(): string {
  const config = join(work, "verdaccio.yaml");
  writeFileSync(
    config,
    [
      `storage: ${join(work, "storage")}`,
      "auth:",
      "  htpasswd:",
      `    file: ${join(work, "htpasswd")}`,
      "uplinks:",
      "  npmjs:",
      `    url: ${UPLINK}`,
      "    timeout: 60s",
      "packages:",
      "  '@pubsubbud/*':",
      "    access: $all",
      "    publish: $authenticated",
      "  '**':",
      "    access: $all",
      "    proxy: npmjs",
      "web:",
      "  enable: false",
      "log: { type: stdout, format: pretty, level: error }",
      "",
    ].join("\n"),
  );
  return config;
}

/** Registers a user on the registry and returns its token (what `npm adduser` does). */
async function registryToken(): Promise<string> {
  const response = await fetch(`${registryUrl}/-/user/org.couchdb.user:ci`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "ci", password: "registry-test-password" }),
  });
  const body = (await response.json()) as { token?: string };
  if (!body.token) throw new Error(`the registry refused the user: ${JSON.stringify(body)}`);
  return body.token;
}

/** Copies a fixture app to a fresh folder with the package.json given, and installs it. */
async function installApp(
  fixture: string,
  manifest: Record<string, unknown>,
): Promise<{ dir: string; lock: Record<string, { resolved?: string; link?: boolean }> }> {
  const dir = join(work, fixture);
  cpSync(join(FIXTURES, fixture), dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true, ...manifest }, null, 2));
  await run("npm", ["install", "--no-audit", "--no-fund"], dir, npmEnv);
  const lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8")).packages;
  return { dir, lock };
}

/** Every installed package came from the local registry as a tarball: no links, no file: paths. */
function expectFromRegistry(lock: Record<string, { resolved?: string; link?: boolean }>) {
  const entries = Object.entries(lock).filter(([path]) => path !== "");
  for (const [path, entry] of entries) {
    expect(entry.link, path).toBeUndefined();
    expect(entry.resolved, path).toMatch(new RegExp(`^${registryUrl}/`));
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "pubsubbud-registry-"));
  registry = await startRelayProcess(
    [writeRegistryConfig()],
    {},
    join(FIXTURES, "verdaccio.mjs"),
  ).catch((error: Error) => {
    unavailable = missing("a local npm registry (verdaccio)", false, error.message);
    return undefined;
  });
  if (!registry) return;
  registryUrl = registry.url;
  const uplink = await fetch(`${registryUrl}/ws`).catch(() => undefined);
  if (
    missing("the npm registry uplink", uplink?.ok === true, `check that ${UPLINK} is reachable`)
  ) {
    unavailable = true;
    return;
  }
  const npmrc = join(work, ".npmrc");
  const host = registryUrl.replace(/^http:/, "");
  writeFileSync(npmrc, `registry=${registryUrl}/\n${host}/:_authToken=${await registryToken()}\n`);
  npmEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key))),
    npm_config_userconfig: npmrc,
    npm_config_registry: `${registryUrl}/`,
    npm_config_update_notifier: "false",
    WRANGLER_SEND_METRICS: "false",
  };
  // The release tool publishes every public package whose version the registry lacks; no git tags.
  const started = Date.now();
  await run("npx", ["changeset", "publish", "--no-git-tag"], ROOT, npmEnv);
  process.stderr.write(`registry up and every package published in ${Date.now() - started} ms\n`);
}, INSTALL_TIMEOUT);

afterAll(async () => {
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
}, 120_000);

describe("the packages from a registry", () => {
  it("publishes every package, each depending on the published versions of its siblings", async (ctx) => {
    if (unavailable) ctx.skip();
    for (const name of PACKAGES) {
      const response = await fetch(`${registryUrl}/@pubsubbud%2f${name}`);
      expect(response.status, name).toBe(200);
      const packument = (await response.json()) as {
        versions: Record<string, { dependencies?: Record<string, string> }>;
      };
      const published = packument.versions[version(name)];
      expect(published, `@pubsubbud/${name}@${version(name)}`).toBeDefined();
      for (const [dependency, range] of Object.entries(published?.dependencies ?? {}))
        if (dependency.startsWith("@pubsubbud/"))
          expect(range).toBe(version(dependency.slice("@pubsubbud/".length)));
    }
  });

  it(
    "a Vite page bundling the client receives, in Chromium, a message published through a Node service on relay-node",
    async (ctx) => {
      if (unavailable || chromiumMissing()) ctx.skip();
      const { dir, lock } = await installApp("web-app", {
        type: "module",
        dependencies: {
          "@pubsubbud/client": version("client"),
          "@pubsubbud/relay-node": version("relay-node"),
        },
        devDependencies: { vite: VITE },
      });
      expectFromRegistry(lock);
      await run(join(dir, "node_modules/.bin/vite"), ["build", "--logLevel", "warn"], dir, npmEnv);
      const service = await startRelayProcess([], {}, join(dir, "service.mjs"));
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(service.url);
        await page.locator("#state", { hasText: "subscribed" }).waitFor();
        const published = await fetch(`${service.url}/v1/ns/news/publish`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ channel: "news.today", data: { text: "from the service" } }),
        });
        expect(published.status).toBe(200);
        expect(await page.locator("#log li").first().textContent()).toBe(
          "news.today: from the service",
        );
      } finally {
        await browser.close();
        await service.stop();
      }
    },
    INSTALL_TIMEOUT,
  );

  it(
    "a Worker on relay-worker builds with wrangler and relays a Node client's message in workerd",
    async (ctx) => {
      if (unavailable) ctx.skip();
      const { dir, lock } = await installApp("worker-app", {
        type: "module",
        dependencies: {
          "@pubsubbud/client": version("client"),
          "@pubsubbud/relay-worker": version("relay-worker"),
          ws: WS,
        },
        devDependencies: { wrangler: WRANGLER },
      });
      expectFromRegistry(lock);
      const outdir = join(dir, "dist");
      await run(
        join(dir, "node_modules/.bin/wrangler"),
        ["deploy", "--dry-run", "--outdir", outdir],
        dir,
        npmEnv,
      );
      expect(existsSync(join(outdir, "index.js"))).toBe(true);
      let worker: Miniflare | undefined;
      try {
        const started = await startWorker(
          { ANONYMOUS: "all" },
          // Module paths relative to the bundle's folder: workerd refuses paths outside its root.
          { scriptPath: join(outdir, "index.js"), modulesRoot: outdir },
        );
        worker = started.worker;
        const check = await run(
          process.execPath,
          [join(dir, "check.mjs"), `ws://127.0.0.1:${started.port}/ns/check`],
          dir,
          npmEnv,
        );
        expect(check.stdout).toBe('received check.worker {"text":"hello from node"}\n');
      } finally {
        await worker?.dispose();
      }
    },
    INSTALL_TIMEOUT,
  );
});
