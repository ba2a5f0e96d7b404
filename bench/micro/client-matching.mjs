// What one delivered message costs the client with 1, 10, 100 and 256 subscriptions, and what
// of it is re-matching every subscription (message frames do not name the ones that matched):
// node bench/micro/client-matching.mjs   (after npm run build)
//
// The real client on an in-process WebSocket stand-in (no network): each turn hands it one
// message frame. Subscriptions are distinct patterns of the usual shapes (exact channels,
// `room.<n>.*`, `sensor.<n>.?emp`, `[a-c]log.<n>`); exactly one of them matches each message, so
// the handler work is the same in every row and the difference is matching.
import { createClient } from "@pubsubbud/client";
import { compileMatcher, isInboxChannel } from "@pubsubbud/protocol";

/** The smallest WebSocket the client drives: the benchmark plays the relay by calling `frame`. */
class StandIn {
  static last;
  readyState = 1;
  constructor() {
    StandIn.last = this;
    queueMicrotask(() => this.onopen?.());
  }
  send() {}
  close() {}
  frame(text) {
    this.onmessage?.({ data: text });
  }
}

const shapes = [
  (i) => `chat.${i}`,
  (i) => `room.${i}.*`,
  (i) => `sensor.${i}.?emp`,
  (i) => `[a-c]log.${i}`,
];
const patternsOf = (n) => Array.from({ length: n }, (_, i) => shapes[i % 4](i));
/** A channel the last pattern matches, so a linear scan goes through all of them. */
const channelOf = (n) => {
  const i = n - 1;
  return [`chat.${i}`, `room.${i}.general`, `sensor.${i}.temp`, `blog.${i}`][i % 4];
};

const timePer = (runs, fn) => {
  for (let i = 0; i < runs / 10; i++) fn(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / runs;
};

const RUNS = 200_000;
const rows = [];
for (const n of [1, 10, 100, 256]) {
  const client = createClient({ url: "ws://bench", WebSocket: StandIn });
  await new Promise((resolve) => setTimeout(resolve, 0));
  const socket = StandIn.last;
  socket.frame(
    JSON.stringify({
      type: "welcome",
      session: "s",
      epoch: "e",
      offset: "",
      inbox: "_inbox.bench",
      limits: {
        maxFrameBytes: 65536,
        maxSubscriptions: 256,
        maxChannelLength: 255,
        maxPatternLength: 255,
        maxWildcards: 16,
      },
      heartbeat: 3_600_000,
    }),
  );
  let delivered = 0;
  const patterns = patternsOf(n);
  for (const pattern of patterns) client.subscribe(pattern, () => void delivered++);
  const channel = channelOf(n);
  const frames = Array.from({ length: 64 }, (_, i) =>
    JSON.stringify({
      type: "message",
      channel,
      id: `m${i}-abcdefghijklmnop`,
      data: { text: "hello", n: i },
      ts: 1764400000000 + i,
      offset: String(i),
    }),
  );
  const whole = timePer(RUNS, (i) => socket.frame(frames[i & 63]));
  if (delivered < RUNS) throw new Error(`only ${delivered} deliveries`);
  // The matching alone, as the client does it per message: the inbox check, then every matcher.
  const matchers = patterns.map((p) => compileMatcher(p));
  let hits = 0;
  const matching = timePer(RUNS, () => {
    for (let k = 0; k < matchers.length; k++)
      if (!isInboxChannel(channel) && matchers[k](channel)) hits++;
  });
  // What naming the matched subscriptions in the frame would leave: one map lookup per name.
  const byId = new Map(patterns.map((p, k) => [`s${k + 1}`, p]));
  const named = `s${n}`;
  const lookup = timePer(RUNS, () => {
    if (byId.get(named) !== undefined) hits++;
  });
  client.close();
  rows.push({ n, whole, matching, lookup, hits });
}

console.log("subscriptions | ns per message (whole client path) | of it matching | named instead");
for (const { n, whole, matching, lookup } of rows)
  console.log(
    `${String(n).padStart(13)} | ${whole.toFixed(0).padStart(33)} | ${matching.toFixed(0).padStart(14)} | ${lookup.toFixed(0).padStart(13)}`,
  );
