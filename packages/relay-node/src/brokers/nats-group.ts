/**
 * One member of a NATS durable group: a JetStream durable consumer per group, which members share
 * and whose acks move its floor. A member tells the server it is still working on a message every
 * 3 s, so the ack wait can stay short (10 s): a message handed to a member that stopped (a pull
 * request still open on the server) goes to another member within that time.
 */
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import type { GroupMessage } from "@pubsubbud/relay-core";
import type { NatsLog } from "./nats-log.js";
import { messageOf, NS_PER_MS } from "./nats-mapping.js";

/** Joins `group` on the namespace's stream (created from the stream's end when new); resolves with how to leave. */
export async function joinNatsGroup(
  log: NatsLog,
  namespace: string,
  group: string,
  handle: (message: GroupMessage) => Promise<void>,
): Promise<() => Promise<void>> {
  const name = await log.stream(namespace);
  await log.jsm.consumers.add(name, {
    durable_name: group,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    ack_wait: 10_000 * NS_PER_MS,
  });
  const consumer = await log.js.consumers.get(name, group);
  const messages = await consumer.consume({ expires: 2_000, max_messages: 10 });
  const subjectPrefix = log.subjectPrefix(namespace);
  void (async () => {
    for await (const m of messages) {
      const message = messageOf(subjectPrefix, m);
      const working = setInterval(() => m.working(), 3_000);
      try {
        if (message) await handle(message);
        m.ack();
      } catch {
        m.nak();
      } finally {
        clearInterval(working);
      }
    }
  })().catch(() => {});
  return async () => {
    await messages.close().catch(() => {});
  };
}
