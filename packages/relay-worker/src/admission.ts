import type { AdmissionRequest } from "@pubsubbud/relay-core/internal";
/**
 * What relay-core's admission reads of a Worker request. Cloudflare sets CF-Connecting-IP
 * itself; a client cannot forge it.
 */
export function upgradeOf(request: Request): AdmissionRequest {
  return {
    path: new URL(request.url).pathname,
    method: request.method,
    header: (name) => request.headers.get(name),
    remote: request.headers.get("CF-Connecting-IP") ?? undefined,
  };
}
