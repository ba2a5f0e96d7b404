/**
 * What the relay can learn about an MQTT server's limits at start. The server's configuration is
 * not readable over MQTT: the CONNACK tells the receive maximum (Mosquitto
 * `max_inflight_messages`) and the maximum packet size, and a probe measures the per-session
 * queue limit (Mosquitto `max_queued_messages`, 1000 by default) by letting a throw-away
 * session queue messages while it is away and counting what it gets back.
 */
import { randomId } from "@pubsubbud/relay-core/internal";
import type { BrokerCommonOptions } from "./shared.js";
import { connect, type IClientOptions, type IConnackPacket, type MqttClient } from "mqtt";

/** The server's limits as its latest CONNACK told them. */
export type ConnackProperties = NonNullable<IConnackPacket["properties"]>;

/**
 * Connects like mqtt's `connectAsync` (resolves on the first CONNACK, rejects and ends on the
 * first error) and keeps the properties of the server's latest CONNACK, which the client library
 * does not expose.
 */
export function connectKeepingLimits(
  url: string,
  options: IClientOptions,
): Promise<{ client: MqttClient; limits: () => ConnackProperties }> {
  const client = connect(url, options);
  let latest: ConnackProperties = {};
  client.on("connect", (connack) => {
    latest = connack.properties ?? {};
  });
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      client.off("connect", onConnect);
      client.off("error", onError);
      if (error) {
        client.end(true);
        reject(error);
      } else resolve({ client, limits: () => latest });
    };
    const onConnect = () => settle();
    const onError = (error: Error) => settle(error);
    client.on("connect", onConnect);
    client.on("error", onError);
  });
}

/** The size of a QoS 1 PUBLISH packet (MQTT 5) with these user properties. */
export function mqttPacketBytes(
  topic: string,
  payload: string,
  userProperties: Record<string, string>,
): number {
  const utf8 = (text: string) => Buffer.byteLength(text, "utf8");
  let properties = 0;
  for (const [name, value] of Object.entries(userProperties))
    properties += 1 + 2 + utf8(name) + 2 + utf8(value);
  const remaining =
    2 + utf8(topic) + 2 + varintBytes(properties) + properties + Buffer.byteLength(payload, "utf8");
  return 1 + varintBytes(remaining) + remaining;
}

function varintBytes(value: number): number {
  return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
}

/** What the probe found. */
export interface MqttServerLimits {
  /** Messages the server sends this relay before waiting for its PUBACKs (CONNACK receive maximum). */
  receiveMaximum: number | undefined;
  /** Largest packet the server takes (CONNACK maximum packet size); undefined when unlimited. */
  maximumPacketSize: number | undefined;
  /** Messages the probe session got back of `sent` queued while it was away. */
  queued: number;
  sent: number;
}

/** Connects a probe session (id, clean start, session expiry in seconds); the caller's options apply. */
export type ProbeConnect = (clientId: string, clean: boolean, expirySeconds: number) => MqttClient;

/**
 * Measures the server's per-session queue: a probe session subscribes to a private topic under
 * `<prefix>-probe/` and leaves, `publisher` sends `sent` messages there, and the session comes
 * back and counts them up to an end marker sent once it is back. Stops (rejects)
 * after `timeoutMs` or when `signal` aborts; the session is removed in every case.
 */
export async function probeMqttServer(
  publisher: MqttClient,
  limits: ConnackProperties,
  connect: ProbeConnect,
  prefix: string,
  sent: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<MqttServerLimits> {
  const id = `${prefix}-probe-${randomId(12)}`;
  const topic = `${prefix}-probe/${id}`;
  const sessions: MqttClient[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stopped = new Promise<never>((_, reject) => {
    const stop = (why: string) => reject(new Error(`the queue probe stopped: ${why}`));
    timer = setTimeout(() => stop(`no result within ${timeoutMs} ms`), timeoutMs);
    signal.addEventListener("abort", () => stop("the broker closed"), { once: true });
  });
  stopped.catch(() => {});
  const step = <T>(promise: Promise<T>) => Promise.race([promise, stopped]);
  try {
    const away = connect(id, true, 60);
    sessions.push(away);
    await step(new Promise((resolve) => away.once("connect", resolve)));
    await step(away.subscribeAsync(topic, { qos: 1 }));
    await step(away.endAsync());
    await step(
      Promise.all(
        Array.from({ length: sent }, (_, i) =>
          publisher.publishAsync(topic, String(i), { qos: 1 }),
        ),
      ),
    );
    // Back with session expiry 0: the server forgets the session when this connection ends.
    const back = connect(id, false, 0);
    sessions.push(back);
    let queued = 0;
    const counted = new Promise<void>((resolve) => {
      back.on("message", (_topic, payload) => {
        if (payload.toString() === "end") resolve();
        else queued++;
      });
    });
    // Sent once the session is back: the server has then begun to hand over its queue, so the
    // marker finds room behind the queued messages.
    back.once(
      "connect",
      () => void publisher.publishAsync(topic, "end", { qos: 1 }).catch(() => {}),
    );
    await step(counted);
    return {
      receiveMaximum: limits.receiveMaximum,
      maximumPacketSize: limits.maximumPacketSize,
      queued,
      sent,
    };
  } finally {
    clearTimeout(timer);
    for (const session of sessions) await session.endAsync(true).catch(() => {});
  }
}

/** Servers probed by this process: their limits do not change per relay instance. */
const probedServers = new Set<string>();

/**
 * Probes the server in the background (once per process and URL) and logs what it found: a
 * warning naming the setting when the server queues fewer than `sent` messages per session.
 */
export function logServerLimits(options: {
  url: string;
  publisher: MqttClient;
  limits: ConnackProperties;
  prefix: string;
  sent: number;
  connectTimeoutMs: number;
  log: NonNullable<BrokerCommonOptions["log"]>;
  signal: AbortSignal;
}): void {
  const { url, log } = options;
  if (probedServers.has(url)) return;
  const session: ProbeConnect = (clientId, clean, expirySeconds) =>
    connect(url, {
      protocolVersion: 5,
      clientId,
      clean,
      properties: { sessionExpiryInterval: expirySeconds },
      reconnectPeriod: 0,
      connectTimeout: options.connectTimeoutMs,
    });
  const { publisher, limits, prefix, sent, signal } = options;
  probeMqttServer(publisher, limits, session, prefix, sent, 30_000, signal).then(
    (found) => {
      probedServers.add(url);
      if (found.queued >= found.sent) log("info", "mqtt server limits", { ...found });
      else
        log(
          "warn",
          `the MQTT server queues only about ${found.queued} messages per session: a burst larger than that towards one relay is dropped by the server and reported to clients as a gap; set max_queued_messages 0 (Mosquitto) or raise the limit, see docs/operations.md`,
          { ...found },
        );
    },
    (error) => log("info", "mqtt queue probe inconclusive", { error: String(error) }),
  );
}
