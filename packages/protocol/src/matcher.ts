/**
 * Shell-style pattern matching with the semantics of Python's `fnmatch.fnmatchcase`:
 * `*` any sequence (dots included), `?` one character, `[seq]` one of, `[!seq]` none of, ranges
 * such as `[0-9]`, and an unclosed `[` is a literal. No RegExp is ever built from a pattern:
 * a pattern compiles to segments between `*`s: the first anchored at the start, the last at the
 * end, the others found leftmost-first (native search for literal ones), so a match costs
 * O(channel length × `cost`) plus native string searches, with constant memory.
 */

const LITERAL = 0;
const ANY = 1;
const STAR = 2;
const CLASS = 3;

type Token =
  | { readonly kind: typeof LITERAL; readonly code: number }
  | { readonly kind: typeof ANY }
  | { readonly kind: typeof STAR }
  | { readonly kind: typeof CLASS; readonly members: Uint8Array; readonly negated: boolean };

/** A compiled pattern: match channels against it without re-parsing. */
export interface CompiledPattern {
  /** The pattern as given. */
  readonly source: string;
  /** True when the pattern has no wildcard, so it matches exactly one channel name. */
  readonly exact: boolean;
  /** The literal characters before the first wildcard (used by subscription indexes). */
  readonly literalPrefix: string;
  /** Number of wildcards (`*` runs count once per `*`, `?` and closed `[...]` count once). */
  readonly wildcards: number;
  /**
   * What one match may cost beyond a native string search, per channel character: the tokens of
   * the segments between two `*` that hold `?` or `[...]` (they are tried at every position).
   * Anchored segments and literal ones cost nothing here. Relays budget it per namespace.
   */
  readonly cost: number;
  /** Tests one channel name (a method: call it on the pattern). */
  matches(channel: string): boolean;
}

const STAR_TOKEN: Token = { kind: STAR };
const ANY_TOKEN: Token = { kind: ANY };
/** One shared token per character code, so literal characters allocate nothing per pattern. */
const LITERAL_TOKENS: Token[] = Array.from({ length: 128 }, (_, code) => ({ kind: LITERAL, code }));
const literalToken = (code: number): Token => LITERAL_TOKENS[code] ?? { kind: LITERAL, code };

/** Reads the `[...]` set starting after `[` at `start`; returns the token and the index after `]`, or undefined for a literal `[`. */
function readClass(p: string, start: number): { token: Token; next: number } | undefined {
  // The set ends at the first `]` after an optional `!` and a `]` right behind `[` or `[!`.
  let j = start + (p[start] === "!" ? 1 : 0);
  j = p.indexOf("]", p[j] === "]" ? j + 1 : j);
  if (j < 0) return undefined;
  // Mirrors fnmatch.translate: split at range hyphens, then drop reversed (empty) ranges.
  const chunks: string[] = [];
  let i = start;
  let k = p[i] === "!" ? i + 2 : i + 1;
  for (;;) {
    k = k < j ? p.indexOf("-", k) : -1;
    if (k < 0 || k >= j) break;
    chunks.push(p.slice(i, k));
    i = k + 1;
    k = k + 3;
  }
  const last = p.slice(i, j);
  if (last) chunks.push(last);
  else chunks[chunks.length - 1] += "-";
  for (let c = chunks.length - 1; c > 0; c--) {
    const prev = chunks[c - 1] as string;
    const cur = chunks[c] as string;
    if (prev.charCodeAt(prev.length - 1) > cur.charCodeAt(0)) {
      chunks[c - 1] = prev.slice(0, -1) + cur.slice(1);
      chunks.splice(c, 1);
    }
  }
  const next = j + 1;
  const first = chunks[0] as string;
  // An empty set (`[z-a]`) matches nothing and a negated empty one (`[!z-a]`) any character,
  // as fnmatch's `(?!)` and `.`: an empty member table gives both.
  const negated = first[0] === "!";
  if (negated) chunks[0] = first.slice(1);
  const members = new Uint8Array(128);
  chunks.forEach((chunk, c) => {
    for (let i = 0; i < chunk.length; i++) {
      const code = chunk.charCodeAt(i);
      if (code < 128) members[code] = 1;
    }
    // A range joins the last character of the previous chunk to the first of this one.
    if (c > 0) {
      const prev = chunks[c - 1] as string;
      const lo = prev.charCodeAt(prev.length - 1);
      const hi = Math.min(chunk.charCodeAt(0), 127);
      for (let code = lo; code <= hi; code++) members[code] = 1;
    }
  });
  return { token: { kind: CLASS, members, negated }, next };
}

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    i++;
    if (ch === "*") {
      if (tokens[tokens.length - 1] !== STAR_TOKEN) tokens.push(STAR_TOKEN);
    } else if (ch === "?") {
      tokens.push(ANY_TOKEN);
    } else if (ch === "[") {
      const cls = readClass(pattern, i);
      if (cls) {
        tokens.push(cls.token);
        i = cls.next;
      } else {
        tokens.push(literalToken(91));
      }
    } else {
      tokens.push(literalToken(pattern.charCodeAt(i - 1)));
    }
  }
  return tokens;
}

function tokenMatches(token: Token, code: number): boolean {
  switch (token.kind) {
    case LITERAL:
      return token.code === code;
    case ANY:
      return true;
    case CLASS:
      return (code < 128 && token.members[code] === 1) !== token.negated;
    default:
      return false;
  }
}

/**
 * Compiles a pattern. Call it on validated patterns (see `patternError`); it never throws.
 * @example compilePattern("sensor.*").matches("sensor.temp") // true
 */
export function compilePattern(pattern: string): CompiledPattern {
  // Most subscriptions name one channel: no tokens, no copy of the name (a relay holds one of
  // these per subscription for as long as it lives).
  if (!WILDCARD_CHARACTER.test(pattern)) return new ExactPattern(pattern);
  const tokens = tokenize(pattern);
  let prefixEnd = 0;
  while (prefixEnd < tokens.length && tokens[prefixEnd]?.kind === LITERAL) prefixEnd++;
  const literalPrefix = literalText(tokens.slice(0, prefixEnd)) as string;
  const base = { source: pattern, literalPrefix };
  if (prefixEnd === tokens.length)
    return { ...base, exact: true, wildcards: 0, cost: 0, matches: (c) => c === literalPrefix };
  const parts = partsOf(tokens);
  return {
    ...base,
    exact: false,
    wildcards: wildcardsIn(tokens),
    cost: parts.slice(1, -1).reduce((n, part) => n + (literalText(part) ? 0 : part.length), 0),
    matches: segmentMatcher(parts),
  };
}

/**
 * A pattern without wildcards: one field, everything else on the prototype (a relay holds one
 * per exact subscription). `matches` is a method here: call it on the pattern.
 */
class ExactPattern implements CompiledPattern {
  readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  get literalPrefix(): string {
    return this.source;
  }

  get exact(): boolean {
    return true;
  }

  get wildcards(): number {
    return 0;
  }

  get cost(): number {
    return 0;
  }

  matches(channel: string): boolean {
    return channel === this.source;
  }
}

/** A character that may start a wildcard token; a pattern without one is all literals. */
const WILDCARD_CHARACTER = /[*?[]/;

const wildcardsIn = (tokens: Token[]): number =>
  tokens.filter((token) => token.kind !== LITERAL).length;

/** The pattern's wildcard count, as `CompiledPattern.wildcards` counts them (for validation). */
export function countWildcards(pattern: string): number {
  return WILDCARD_CHARACTER.test(pattern) ? wildcardsIn(tokenize(pattern)) : 0;
}

/**
 * Only the test of a pattern, for code that routes a few channels (the client) and needs none of
 * what indexes use: the classic walk that, on a mismatch, retries from the last `*` one character
 * further, at most channel length × tokens steps. Same semantics as {@link compilePattern}.
 */
export function compileMatcher(pattern: string): (channel: string) => boolean {
  const tokens = tokenize(pattern);
  return (s) => {
    let i = 0;
    let t = 0;
    /** The token after the last `*` and the channel position it was last tried at. */
    let star = -1;
    let mark = 0;
    while (i < s.length) {
      const token = tokens[t];
      if (token === STAR_TOKEN) {
        star = ++t;
        mark = i;
      } else if (token && tokenMatches(token, s.charCodeAt(i))) {
        i++;
        t++;
      } else if (star < 0) return false;
      else {
        t = star;
        i = ++mark;
      }
    }
    while (tokens[t] === STAR_TOKEN) t++;
    return t === tokens.length;
  };
}

/** The runs of tokens between stars; one run when the pattern has no star. */
function partsOf(tokens: Token[]): Token[][] {
  const parts: Token[][] = [[]];
  for (const token of tokens)
    if (token.kind === STAR) parts.push([]);
    else (parts[parts.length - 1] as Token[]).push(token);
  return parts;
}

/**
 * Matches by the segments between stars: the first anchored at the start, the last at the end,
 * the middle ones found leftmost-first, which is exact when stars separate them. Literal middles
 * use the runtime's native search; only middles with `?` or `[...]` are tried at every position
 * (what `cost` counts).
 */
function segmentMatcher(parts: Token[][]): (channel: string) => boolean {
  const minLength = parts.flat().length;
  const [lead, ...rest] = parts as [Token[], ...Token[][]];
  const tail = rest.pop();
  const middle = rest.map((part) => [part, literalText(part)] as const);
  return (s) => {
    if (s.length < minLength || !fits(lead, s, 0)) return false;
    if (!tail) return s.length === minLength;
    const end = s.length - tail.length;
    if (!fits(tail, s, end)) return false;
    let at = lead.length;
    for (const [part, text] of middle) {
      const last = end - part.length;
      if (text) at = s.indexOf(text, at);
      else while (at <= last && !fits(part, s, at)) at++;
      if (at < 0 || at > last) return false;
      at += part.length;
    }
    return true;
  };
}

/** The text of a run of literal tokens, or undefined when it holds `?` or `[...]`. */
const literalText = (part: Token[]): string | undefined =>
  part.every((token) => token.kind === LITERAL)
    ? String.fromCharCode(...part.map((token) => (token as { code: number }).code))
    : undefined;

/** True when `part` matches `s` at position `at` (the caller checked it fits inside `s`). */
const fits = (part: Token[], s: string, at: number): boolean =>
  part.every((token, k) => tokenMatches(token, s.charCodeAt(at + k)));

/** One-off match; compile once with {@link compilePattern} when matching many channels. */
export function matchPattern(pattern: string, channel: string): boolean {
  return compilePattern(pattern).matches(channel);
}
