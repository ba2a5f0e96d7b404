/**
 * JWT connection tokens: verification for relays (`createJwtAuth`) and minting for backends
 * (`createToken`). Claims, key choice and every check are in docs/security.md.
 *
 * A token carries the user id in `sub` and its grants in the `pubsubbud` claim: per namespace
 * (or `*` for any), the channel patterns it may subscribe to and publish on.
 */
import {
  type CryptoKey,
  createRemoteJWKSet,
  decodeProtectedHeader,
  importPKCS8,
  importSPKI,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  SignJWT,
} from "jose";
import type { Authenticate, AuthRequest, Grants, Identity } from "./types.js";

/** The claim that holds the grants: namespace (or `*`) → grants. */
export const GRANTS_CLAIM = "pubsubbud";

export type GrantsByNamespace = Record<string, Partial<Grants>>;

const HMAC = ["HS256", "HS384", "HS512"] as const;
const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"] as const;
export type HmacAlgorithm = (typeof HMAC)[number];
export type AsymmetricAlgorithm = (typeof ASYMMETRIC)[number];

/** One verification key, its algorithm pinned: a token signed with another is refused. */
export type JwtKey =
  | { alg: HmacAlgorithm; secret: string; kid?: string }
  | { alg: AsymmetricAlgorithm; publicKey: string; kid?: string }
  | { alg: AsymmetricAlgorithm; jwksUrl: string };

export interface JwtAuthOptions {
  /** At least one key. HMAC secrets must be at least 32 bytes. */
  keys: JwtKey[];
  /** When set, the token's `aud` must include it. */
  audience?: string | string[];
  /** When set, the token's `iss` must be it. */
  issuer?: string | string[];
  /** Seconds of clock skew allowed on `exp` and `nbf`. @default 5 */
  clockToleranceSeconds?: number;
  /**
   * Grants of a connection without a token, or `"all"` (everything everywhere). Anonymous
   * connections are refused unless this is set. @default undefined (refused)
   */
  anonymous?: GrantsByNamespace | "all";
}

/** Why a token was refused; the relay sends the message to the client with `unauthorized`. */
export class TokenError extends Error {
  override readonly name = "TokenError";
}

const MIN_SECRET_BYTES = 32;

function checkSecret(secret: string): Uint8Array {
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < MIN_SECRET_BYTES)
    throw new TypeError(
      `an HMAC secret must be at least ${MIN_SECRET_BYTES} bytes (got ${bytes.length}): generate one with \`openssl rand -base64 48\``,
    );
  return bytes;
}

/** The grants of `namespace` in a grants claim, or undefined when the claim gives none. */
export function grantsFor(claim: unknown, namespace: string): Grants | undefined {
  if (typeof claim !== "object" || claim === null || Array.isArray(claim)) return undefined;
  const byNamespace = claim as Record<string, unknown>;
  const own = Object.hasOwn(byNamespace, namespace) ? byNamespace[namespace] : undefined;
  const any = Object.hasOwn(byNamespace, "*") ? byNamespace["*"] : undefined;
  const patterns = (entry: unknown, key: "subscribe" | "publish"): string[] => {
    if (typeof entry !== "object" || entry === null) return [];
    const list = Object.hasOwn(entry, key) ? (entry as Record<string, unknown>)[key] : undefined;
    return Array.isArray(list) ? list.filter((p): p is string => typeof p === "string") : [];
  };
  if (own === undefined && any === undefined) return undefined;
  return {
    subscribe: [...patterns(own, "subscribe"), ...patterns(any, "subscribe")],
    publish: [...patterns(own, "publish"), ...patterns(any, "publish")],
  };
}

type Verifier = { alg: string; kid?: string; key: CryptoKey | Uint8Array | JWTVerifyGetKey };

async function verifierOf(key: JwtKey): Promise<Verifier> {
  if ("secret" in key) {
    if (!HMAC.includes(key.alg)) throw new TypeError(`${key.alg} is not an HMAC algorithm`);
    return { alg: key.alg, kid: key.kid, key: checkSecret(key.secret) } as Verifier;
  }
  if (!ASYMMETRIC.includes(key.alg))
    throw new TypeError(`${key.alg} is not one of ${ASYMMETRIC.join(", ")}`);
  if ("jwksUrl" in key) return { alg: key.alg, key: createRemoteJWKSet(new URL(key.jwksUrl)) };
  return { alg: key.alg, kid: key.kid, key: await importSPKI(key.publicKey, key.alg) } as Verifier;
}

/**
 * The `authenticate` hook for JWT connection tokens. A token is accepted when a configured key of
 * its header's `alg` (and `kid`, when both name one) verifies it, it has an `exp` in the future,
 * and its `aud`/`iss` match when those are configured. `alg: none` never matches a key.
 * @example createRelayCore({ broker, authenticate: createJwtAuth({ keys: [{ alg: "HS256", secret }] }) })
 */
export function createJwtAuth(options: JwtAuthOptions): Authenticate {
  if (options.keys.length === 0 && !options.anonymous)
    throw new TypeError("createJwtAuth needs at least one key, or anonymous grants");
  const verifiers = Promise.all(options.keys.map(verifierOf));
  verifiers.catch(() => {});
  const tolerance = options.clockToleranceSeconds ?? 5;
  const anonymous: GrantsByNamespace | undefined =
    options.anonymous === "all" ? { "*": { subscribe: ["*"], publish: ["*"] } } : options.anonymous;
  return async ({ token, namespace }: AuthRequest): Promise<Identity> => {
    if (token === undefined || token === "") {
      if (!anonymous) throw new TokenError("a token is required");
      return { grants: grantsFor(anonymous, namespace) ?? { subscribe: [], publish: [] } };
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenError("the token is not a JWT");
    }
    const candidates = (await verifiers).filter(
      (v) => v.alg === header.alg && (v.kid === undefined || v.kid === header.kid),
    );
    if (candidates.length === 0)
      throw new TokenError(
        `no key accepts alg ${String(header.alg)}${header.kid ? ` kid ${header.kid}` : ""}`,
      );
    let payload: JWTPayload | undefined;
    let failure: unknown;
    for (const candidate of candidates) {
      try {
        ({ payload } = await jwtVerify(token, candidate.key as Uint8Array, {
          algorithms: [candidate.alg],
          requiredClaims: ["exp"],
          clockTolerance: tolerance,
          ...(options.audience === undefined ? {} : { audience: options.audience }),
          ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
        }));
        break;
      } catch (error) {
        failure = error;
      }
    }
    if (!payload) throw new TokenError(reasonOf(failure));
    const identity: Identity = {
      expiresAt: (payload.exp as number) * 1000,
      grants: grantsFor(payload[GRANTS_CLAIM], namespace) ?? { subscribe: [], publish: [] },
    };
    if (typeof payload.sub === "string") identity.user = payload.sub;
    return identity;
  };
}

/** A short reason a client may see: no key material, no stack. */
function reasonOf(error: unknown): string {
  const code = (error as { code?: string } | undefined)?.code;
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "the token expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return `the token's ${String((error as { claim?: string }).claim)} claim is not accepted`;
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "the token's signature is invalid";
    default:
      return "the token is invalid";
  }
}

export interface CreateTokenOptions {
  /** The user id (`sub`), stamped by the relay on this user's publishes as header `sender`. */
  user?: string;
  /** Grants per namespace (`*` = every namespace). */
  grants: GrantsByNamespace;
  /** Lifetime in seconds. @default 3600 */
  expiresInSeconds?: number;
  audience?: string | string[];
  issuer?: string;
  /** The signing key: an HMAC secret or a PKCS#8 PEM private key. */
  key: { alg: HmacAlgorithm; secret: string } | { alg: AsymmetricAlgorithm; privateKey: string };
  kid?: string;
}

/**
 * Mints a connection token for a client (run it in your backend, never in the browser).
 * @example await createToken({ user: "alice", grants: { chat: { subscribe: ["chat.*"], publish: ["chat.room1.*"] } }, key: { alg: "HS256", secret } })
 */
export async function createToken(options: CreateTokenOptions): Promise<string> {
  const { key } = options;
  const signingKey =
    "secret" in key ? checkSecret(key.secret) : await importPKCS8(key.privateKey, key.alg);
  let jwt = new SignJWT({ [GRANTS_CLAIM]: options.grants })
    .setProtectedHeader(options.kid ? { alg: key.alg, kid: options.kid } : { alg: key.alg })
    .setIssuedAt()
    .setExpirationTime(`${options.expiresInSeconds ?? 3600}s`);
  if (options.user !== undefined) jwt = jwt.setSubject(options.user);
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience);
  if (options.issuer !== undefined) jwt = jwt.setIssuer(options.issuer);
  return jwt.sign(signingKey);
}
