/**
 * The reference model's own matcher, written apart from packages/protocol so a matcher bug cannot
 * hide in both: fnmatch `*`, `?`, `[seq]`, `[!seq]` (an unclosed `[` is a literal), and the inbox
 * rule (an `_inbox.` channel reaches only the exact subscription of that channel).
 */

const INBOX = "_inbox.";

/** Whether a subscription to `pattern` receives a message published on `channel`. */
export function delivers(pattern: string, channel: string): boolean {
  if (channel.startsWith(INBOX)) return pattern === channel;
  return fnmatch(pattern, 0, channel, 0);
}

/** Plain recursive fnmatch: the model's patterns and channels are a few characters long. */
function fnmatch(p: string, i: number, s: string, j: number): boolean {
  if (i === p.length) return j === s.length;
  const c = p[i];
  if (c === "*") {
    for (let k = j; k <= s.length; k++) if (fnmatch(p, i + 1, s, k)) return true;
    return false;
  }
  if (j === s.length) return false;
  if (c === "?") return fnmatch(p, i + 1, s, j + 1);
  if (c === "[") {
    const close = p.indexOf("]", i + 2);
    if (close !== -1) {
      const negated = p[i + 1] === "!";
      const members = p.slice(negated ? i + 2 : i + 1, close);
      const inSet = members.includes(s[j] as string);
      return inSet !== negated && fnmatch(p, close + 1, s, j + 1);
    }
  }
  return c === s[j] && fnmatch(p, i + 1, s, j + 1);
}
