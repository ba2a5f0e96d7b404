// The floor under PubsubBud's delivery guarantees: the raw ws relay (raw-ws.mjs) plus what a
// publish costs in PubsubBud and nowhere else — relay-core's MemoryLog (an offset, the replay
// window, the dedupe window, the frame built once) and an ack per publish, batched per turn as
// PubsubBud batches them. It speaks PubsubBud's wire protocol (the wire peer's frames) and
// nothing more: no validation, grants, limits, resume, or slow-consumer cut. Opt-in
// (BENCH_ONLY names it): it measures what the guarantees alone cost (docs/performance.md).
import { DEFAULT_RETENTION } from "@pubsubbud/relay-core";
import { MemoryLog } from "@pubsubbud/relay-core/internal";
import { WebSocketServer } from "ws";
import { SocketIndex, serve } from "./common.mjs";

const log = new MemoryLog("bench", DEFAULT_RETENTION, Date.now);
const index = new SocketIndex();
/** Each publisher's acks of this turn, sent as one batch when the turn ends. */
let acks = new Map();

function sendAcks() {
  const due = acks;
  acks = new Map();
  for (const [ws, frames] of due)
    ws.send(frames.length === 1 ? frames[0] : `[${frames.join(",")}]`);
}

function subscribe(ws, { id, pattern }) {
  index.add(ws, pattern);
  ws.send(JSON.stringify({ type: "subscribed", id }));
}

function publish(ws, { id, channel, data }) {
  const { outcome, message } = log.append({ id, channel, data });
  const ack = `{"type":"ack","id":${JSON.stringify(id)},"offset":"${outcome.offset}"}`;
  if (acks.size === 0) setImmediate(sendAcks);
  const mine = acks.get(ws);
  if (mine) mine.push(ack);
  else acks.set(ws, [ack]);
  if (!message) return; // a duplicate: acked, not delivered again
  for (const s of index.targets(channel)) s.send(message.frame);
}

const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
wss.on("connection", (ws) => {
  ws.on("message", (raw) => {
    const frame = JSON.parse(raw);
    if (frame.type === "hello") for (const s of frame.subscriptions) subscribe(ws, s);
    else if (frame.type === "subscribe") subscribe(ws, frame);
    else if (frame.type === "publish") publish(ws, frame);
  });
  ws.on("close", () => index.remove(ws));
});
wss.on("listening", () => serve(wss.address().port));
