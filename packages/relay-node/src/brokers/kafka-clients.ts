/**
 * The Kafka broker's clients, made and closed together: an admin, a producer, and two consumers
 * without a group (one long-polls the listened topics, one reads history). Group members make
 * their own consumers with the same {@link KafkaClientOptions}.
 */
import { Admin, Consumer, Producer } from "@platformatic/kafka";
import { badBrokerUrl, firstConnect } from "./shared.js";

/** What every Kafka client of one broker is made with. */
export interface KafkaClientOptions {
  bootstrapBrokers: string[];
  clientId: string;
  timeout: number;
  retries: number;
  retryDelay: number;
}

export interface KafkaClients {
  readonly options: KafkaClientOptions;
  readonly admin: Admin;
  readonly producer: Producer;
  readonly live: Consumer;
  readonly reader: Consumer;
  close(): Promise<void>;
}

/** The bootstrap servers a `kafka://` URL names. */
function serversOf(url: string): string[] {
  const match = /^kafka:\/\/([^/?#]+)\/?$/.exec(url);
  if (!match?.[1])
    throw badBrokerUrl(url, "not a kafka URL", "the form kafka://host:9092[,host2:9092]");
  return match[1].split(",");
}

/** Makes the clients and waits for a first metadata answer; fails with a clear error without one. */
export async function connectKafkaClients(
  url: string,
  connectTimeoutMs: number,
  clientId: string,
): Promise<KafkaClients> {
  const options: KafkaClientOptions = {
    bootstrapBrokers: serversOf(url),
    timeout: connectTimeoutMs,
    retries: 2,
    retryDelay: 250,
    clientId,
  };
  const admin = new Admin(options);
  const producer = new Producer({ ...options, acks: -1 });
  const live = new Consumer({ ...options, groupId: `${clientId}-live` });
  const reader = new Consumer({ ...options, groupId: `${clientId}-reader` });
  const clients: KafkaClients = {
    options,
    admin,
    producer,
    live,
    reader,
    close: async () => {
      await Promise.all([admin, producer, live, reader].map((c) => c.close().catch(() => {})));
    },
  };
  try {
    await firstConnect(
      url,
      connectTimeoutMs,
      admin.metadata({ topics: [] }),
      "that Kafka runs there and its advertised listeners are reachable from this host",
    );
  } catch (error) {
    await clients.close();
    throw error;
  }
  return clients;
}
