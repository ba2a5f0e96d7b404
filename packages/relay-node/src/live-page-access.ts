/**
 * Who may see the live page and its data (`/v1/stats`, which holds message contents): a request
 * whose Host names this relay (so a DNS-rebound name cannot read it from a victim's browser),
 * and, when an admin token is set, which a relay with auth must have, that token as a bearer.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { ErrorCode } from "@pubsubbud/protocol";
import { type HttpAnswer, refusal } from "@pubsubbud/relay-core/internal";
import { RelayNodeError, RelayNodeErrorCode } from "./errors.js";

/** The live page's access rules (`createRelay({ livePage })`). */
export interface LivePageOptions {
  /**
   * A secret of at least 32 bytes that `/v1/stats` requires as `Authorization: Bearer <token>`
   * (the page asks for it). Required when the relay has `authenticate`. @default none
   */
  adminToken?: string;
  /**
   * Host names, without port, the live page answers to (`relay.example.com`, `[::1]`); other
   * Host headers get 403. @default localhost, 127.0.0.1, [::1] and the address `listen` binds
   */
  allowedHosts?: readonly string[];
}

/** The names a loopback relay is reached by. */
export const LOOPBACK_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

const MIN_TOKEN_BYTES = 32;

/** The name of a Host header without its port, lower-case (`[::1]:80` → `[::1]`). */
export function hostName(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const lower = host.trim().toLowerCase();
  if (lower.startsWith("[")) return lower.slice(0, lower.indexOf("]") + 1) || undefined;
  const colon = lower.indexOf(":");
  return colon >= 0 && colon === lower.lastIndexOf(":") ? lower.slice(0, colon) : lower;
}

/** The Host name a bound address answers to, or undefined for a wildcard (0.0.0.0, ::). */
export function boundHostName(address: string): string | undefined {
  if (address === "0.0.0.0" || address === "::" || address === "") return undefined;
  return address.includes(":") ? `[${address.toLowerCase()}]` : address.toLowerCase();
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** The live page's checks: one for the page itself (static), one for its data. */
export interface LivePageAccess {
  page(req: IncomingMessage): HttpAnswer | undefined;
  data(req: IncomingMessage): HttpAnswer | undefined;
}

/**
 * Builds the live page's checks. Throws RelayNodeError `bad_config` when a relay with auth has
 * no admin token, or the token is short: the page would show every namespace's messages.
 */
export function createLivePageAccess(
  options: LivePageOptions,
  authenticated: boolean,
  boundHosts: ReadonlySet<string>,
): LivePageAccess {
  const { adminToken } = options;
  if (authenticated && adminToken === undefined)
    throw new RelayNodeError(
      RelayNodeErrorCode.BadConfig,
      "the live page shows every namespace's messages: with authenticate set, give it livePage.adminToken (PUBSUBBUD_ADMIN_TOKEN), or turn it off",
    );
  if (adminToken !== undefined && Buffer.byteLength(adminToken) < MIN_TOKEN_BYTES)
    throw new RelayNodeError(
      RelayNodeErrorCode.BadConfig,
      `the live page's admin token must be at least ${MIN_TOKEN_BYTES} bytes: generate one with \`openssl rand -base64 32\``,
    );
  const wanted = adminToken === undefined ? undefined : digest(adminToken);
  const configured = options.allowedHosts?.map((host) => host.toLowerCase());
  const page = (req: IncomingMessage): HttpAnswer | undefined => {
    const name = hostName(req.headers.host);
    const allowed = configured ?? [...LOOPBACK_HOSTS, ...boundHosts];
    if (name !== undefined && allowed.includes(name)) return undefined;
    return refusal(
      403,
      ErrorCode.Forbidden,
      `the live page does not answer to Host ${JSON.stringify(String(req.headers.host ?? "").slice(0, 100))}: add the name to livePage.allowedHosts (PUBSUBBUD_LIVE_PAGE_HOSTS)`,
    );
  };
  return {
    page,
    data(req) {
      const wrongHost = page(req);
      if (wrongHost || !wanted) return wrongHost;
      const bearer = /^Bearer[ \t]+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
      // Digests have one length, so the comparison's time says nothing about the token.
      if (bearer !== undefined && timingSafeEqual(digest(bearer), wanted)) return undefined;
      return refusal(
        401,
        ErrorCode.Unauthorized,
        "the live page's data needs the admin token as Authorization: Bearer <token>",
      );
    },
  };
}
