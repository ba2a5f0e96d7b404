/**
 * The Kafka broker's topics: each namespace is a one-partition topic `<prefix><namespace>`, created
 * on first use and described (its id, the epoch; its leader, where reads go). Descriptions are
 * cached until {@link KafkaTopics.forget}: after a failed fetch, leaders may have moved.
 */
import type { Admin, Consumer } from "@platformatic/kafka";
import { getOrCreate } from "@pubsubbud/relay-core/internal";
import type { Topic } from "./kafka-reader.js";
import { backoffDelay } from "./shared.js";

export class KafkaTopics {
  readonly #admin: Admin;
  /** The client whose metadata requests describe a topic (the history reader). */
  readonly #metadata: Consumer;
  readonly #prefix: string;
  readonly #replicas: number;
  readonly #topics = new Map<string, Promise<Topic>>();

  constructor(admin: Admin, metadata: Consumer, prefix: string, replicas: number) {
    this.#admin = admin;
    this.#metadata = metadata;
    this.#prefix = prefix;
    this.#replicas = replicas;
  }

  /** The namespace's topic, created (one partition) on first use. */
  of(ns: string): Promise<Topic> {
    const pending = getOrCreate(this.#topics, ns, () =>
      this.#describeOrCreate(`${this.#prefix}${ns}`),
    );
    pending.catch(() => this.#topics.delete(ns));
    return pending;
  }

  /** Forgets every description: the next use describes the topic again. */
  forget(): void {
    this.#topics.clear();
  }

  async #describeOrCreate(name: string): Promise<Topic> {
    try {
      return await this.#describe(name);
    } catch {
      await this.#admin
        .createTopics({ topics: [name], partitions: 1, replicas: this.#replicas })
        .catch((error) => {
          if (!/already exists/i.test(String(error?.errors?.[0]?.message ?? error))) throw error;
        });
      // A new topic has no leader for a moment.
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.#describe(name);
        } catch (error) {
          if (attempt > 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, 20, 500)));
        }
      }
    }
  }

  async #describe(name: string): Promise<Topic> {
    const metadata = await this.#metadata.metadata({ topics: [name], forceUpdate: true });
    const topic = metadata.topics.get(name);
    const leader = topic?.partitions[0]?.leader;
    if (!topic || leader === undefined || leader < 0)
      throw new Error(`topic ${name} has no leader yet`);
    return { name, id: topic.id, leader };
  }
}
