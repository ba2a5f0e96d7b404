/** relay-worker's built Worker in workerd (Miniflare) on a free port, with the vars given. */
import { fileURLToPath } from "node:url";
import { Miniflare, type MiniflareOptions } from "miniflare";

const script = fileURLToPath(
  new URL("../../packages/relay-worker/dist/worker.js", import.meta.url),
);

/** Starts the Worker; `options` adds to (or overrides) the defaults, e.g. `handleRuntimeStdio`. */
export async function startWorker(
  bindings: Record<string, string>,
  options: Partial<MiniflareOptions> = {},
): Promise<{ worker: Miniflare; port: number }> {
  const worker = new Miniflare({
    modules: true,
    scriptPath: script,
    compatibilityDate: "2026-04-01",
    durableObjects: { NAMESPACES: { className: "NamespaceObject", useSQLite: true } },
    bindings,
    // No request.cf lookup: the tests run without internet.
    cf: false,
    host: "127.0.0.1",
    port: 0,
    ...options,
  } as MiniflareOptions);
  return { worker, port: Number((await worker.ready).port) };
}
