/** What the Kafka dedupe suites share: a listener that records, and a producer behind the relays' backs. */
import { Producer } from "@platformatic/kafka";
import type { BrokerListener, LogMessage, PublishInput } from "@pubsubbud/relay-core";
import { services } from "../helpers/services.js";

/** A broker listener that keeps what it is given. */
export function recorder() {
  const messages: LogMessage[] = [];
  const listener: BrokerListener = { message: (m) => void messages.push(m), gap: () => {} };
  return { messages, listener, ids: () => messages.map((m) => m.id) };
}

/** A plain Kafka producer on the shared Kafka. */
export function rawProducer(clientId: string): Producer {
  return new Producer({
    clientId,
    bootstrapBrokers: [`127.0.0.1:${services.kafka.port}`],
    acks: -1,
  });
}

/**
 * Appends another copy of a relay's record, as a producer's own resend after a lost ack would:
 * same channel key, data, id header and headers.
 */
export async function appendCopy(producer: Producer, ns: string, input: PublishInput) {
  await producer.send({
    messages: [
      {
        topic: `pubsubbud.${ns}`,
        key: Buffer.from(input.channel),
        value: Buffer.from(JSON.stringify(input.data)),
        headers: new Map([
          [Buffer.from("pubsubbud-id"), Buffer.from(input.id)],
          ...Object.entries(input.headers ?? {}).map(
            ([k, v]) => [Buffer.from(k), Buffer.from(String(v))] as [Buffer, Buffer],
          ),
        ]),
      },
    ],
  });
}
