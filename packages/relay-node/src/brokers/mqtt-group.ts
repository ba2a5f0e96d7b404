/**
 * The MQTT broker's sessions: how a relay or a group member connects (MQTT 5, a persistent
 * session), and a durable group's member. A group is an MQTT 5 shared subscription
 * `$share/<group>/<prefix>/<ns>/#`, held by one persistent session per member (client id
 * `<prefix>-<ns>-<group>-<member>`): the server gives each message to one member's session and
 * queues it while that member is away, so a member restarted under the same name gets its share.
 * The PUBACK follows `handle`; when handling fails the message stays unacknowledged and the member
 * reconnects, so the server resends it.
 */
import type { GroupMessage } from "@pubsubbud/relay-core";
import { randomId } from "@pubsubbud/relay-core/internal";
import type { IClientOptions, MqttClient } from "mqtt";
import { type ConnackProperties, connectKeepingLimits } from "./mqtt-probe.js";
import { readPublish } from "./mqtt-mapping.js";
import { firstConnect } from "./shared.js";

export interface MqttSessionOptions {
  url: string;
  sessionExpirySeconds: number;
  connectTimeoutMs: number;
}

/** Connects an MQTT 5 client with a persistent session: the relay's own, or a group member's. */
export function connectSession(
  { url, sessionExpirySeconds, connectTimeoutMs }: MqttSessionOptions,
  clientId: string,
  more: IClientOptions = {},
): Promise<{ client: MqttClient; limits: () => ConnackProperties }> {
  return firstConnect(
    url,
    connectTimeoutMs,
    connectKeepingLimits(url, {
      protocolVersion: 5,
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: sessionExpirySeconds },
      // Instances spread their reconnects over 0.5–1.5 s instead of retrying in lockstep.
      reconnectPeriod: 500 + Math.floor(Math.random() * 1000),
      connectTimeout: connectTimeoutMs,
      ...more,
    }),
    "that the MQTT server runs there, speaks MQTT 5, and accepts the URL's credentials",
  );
}

export interface MqttGroupMemberOptions extends MqttSessionOptions {
  prefix: string;
  namespace: string;
  group: string;
  /** Names the member's session; a random name when left out. */
  member: string | undefined;
  handle(message: GroupMessage): Promise<void>;
}

/**
 * Joins the group: connects the member's session and subscribes it to the group's share; resolves
 * with the session. Messages carry no offset: a shared subscription gives a message no position.
 */
export async function joinMqttGroup(options: MqttGroupMemberOptions): Promise<MqttClient> {
  const { prefix, namespace, group, member, handle } = options;
  const base = `${prefix}/`;
  const { client: session } = await connectSession(
    options,
    `${prefix}-${namespace}-${group}-${member ?? randomId(8)}`,
    {
      customHandleAcks: (topic, payload, packet, done) => {
        const read = readPublish(base, topic, payload, packet.properties?.userProperties);
        const handled =
          read?.kind === "message" ? handle({ ...read.input, ts: Date.now() }) : Promise.resolve();
        handled.then(
          () => done(0),
          (error) => {
            done(error instanceof Error ? error : new Error(String(error)));
            session.stream.destroy();
          },
        );
      },
    },
  );
  session.on("error", () => {});
  await session.subscribeAsync(`$share/${group}/${base}${namespace}/#`, { qos: 1 });
  return session;
}
