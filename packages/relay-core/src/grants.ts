/**
 * Grants enforced by the relay: which channels a connection (or an HTTP publisher) may receive
 * and publish on, and the `sender` header stamped from its token. See docs/security.md.
 */
import {
  type CompiledPattern,
  compilePattern,
  isInboxChannel,
  type ProtocolLimits,
  type PublishFrame,
  patternError,
} from "@pubsubbud/protocol";
import type { Identity } from "./types.js";

/** The header that names the publishing user, set by the relay from the token only. */
export const SENDER_HEADER = "sender";

/** An identity's grants, compiled once. Without grants everything is allowed. */
export class CompiledGrants {
  readonly #subscribe: CompiledPattern[] | undefined;
  readonly #publish: CompiledPattern[] | undefined;

  /** `onInvalid` hears of grant patterns that break the pattern grammar (they grant nothing). */
  constructor(
    identity: Identity,
    limits: Pick<ProtocolLimits, "maxPatternLength" | "maxWildcards">,
    onInvalid: (pattern: string) => void = () => {},
  ) {
    const compile = (patterns: string[]) =>
      patterns.flatMap((pattern) => {
        if (!patternError(pattern, limits)) return [compilePattern(pattern)];
        onInvalid(pattern);
        return [];
      });
    this.#subscribe = identity.grants && compile(identity.grants.subscribe);
    this.#publish = identity.grants && compile(identity.grants.publish);
  }

  /** Grants that allow everything: one instance shared by every identity without grants. */
  static readonly unrestricted = new CompiledGrants({}, { maxPatternLength: 0, maxWildcards: 0 });

  /** An identity's grants: the shared {@link unrestricted} when it has none. */
  static of(
    identity: Identity,
    limits: Pick<ProtocolLimits, "maxPatternLength" | "maxWildcards">,
    onInvalid?: (pattern: string) => void,
  ): CompiledGrants {
    return identity.grants
      ? new CompiledGrants(identity, limits, onInvalid)
      : CompiledGrants.unrestricted;
  }

  /** True when `channel` may be delivered; an inbox always (only its owner can subscribe to it). */
  mayReceive(channel: string): boolean {
    return allows(this.#subscribe, channel);
  }

  /**
   * True when `channel` may be published on. An inbox takes replies from anyone who may publish
   * somewhere in this namespace: a token with no publish grant here may publish nothing, inboxes
   * included.
   */
  mayPublish(channel: string): boolean {
    if (isInboxChannel(channel)) return this.#publish === undefined || this.#publish.length > 0;
    return allows(this.#publish, channel);
  }
}

function allows(grants: CompiledPattern[] | undefined, channel: string): boolean {
  if (!grants || isInboxChannel(channel)) return true;
  for (const grant of grants) if (grant.matches(channel)) return true;
  return false;
}

/** The publish as it enters the log: a client's own `sender` header is replaced by its token's user. */
export function stampSender<T extends Pick<PublishFrame, "headers">>(
  frame: T,
  user: string | undefined,
): T {
  const headers = frame.headers;
  if (user === undefined && (headers === undefined || !Object.hasOwn(headers, SENDER_HEADER)))
    return frame;
  const { [SENDER_HEADER]: _dropped, ...rest } = headers ?? {};
  const stamped = user === undefined ? rest : { ...rest, [SENDER_HEADER]: user };
  const { headers: _replaced, ...bare } = frame;
  return (Object.keys(stamped).length === 0 ? bare : { ...bare, headers: stamped }) as T;
}
