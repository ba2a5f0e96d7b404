/**
 * What the relay can learn about an MQTT server's limits. The server's configuration is not
 * readable over MQTT: the CONNACK tells the receive maximum (Mosquitto `max_inflight_messages`)
 * and the maximum packet size.
 */
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
