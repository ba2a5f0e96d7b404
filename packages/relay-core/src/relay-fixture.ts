/**
 * What relay-core's engine tests share: a recording fake socket (relay-core's own injection point,
 * not a mock of a runtime) and a core on the memory broker with a clock the test moves.
 */
import { createMemoryBroker } from "./memory-broker.js";
import type { RelayCoreOptions } from "./core-api.js";
import { createRelayCore } from "./relay.js";
import type { Transport } from "./types.js";

/** An in-memory transport recording what the relay sends and how it closed. */
export function fakeSocket(buffered = 0) {
  const sent: string[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  const transport: Transport = {
    send: (text) => void sent.push(text),
    close: (code, reason) => void closes.push({ code, reason }),
    bufferedAmount: () => buffered,
  };
  const frames = () => sent.flatMap((text) => [JSON.parse(text)].flat());
  return { transport, sent, closes, frames };
}

export const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
export const hello = (extra: object = {}) =>
  JSON.stringify({ type: "hello", client: "client-0001", ...extra });

export function setup(options: Partial<RelayCoreOptions> = {}, clockStart = 0) {
  let now = clockStart;
  const core = createRelayCore({ broker: createMemoryBroker(), now: () => now, ...options });
  const open = (buffered = 0) => {
    const socket = fakeSocket(buffered);
    const connection = core.accept({ namespace: "default", transport: socket.transport });
    return { ...socket, connection };
  };
  return { core, open, advance: (ms: number) => (now += ms) };
}
