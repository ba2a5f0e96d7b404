/**
 * Kafka killed (SIGKILL) under thousands of pipelined publishes, on a private Kafka of its own:
 * the relay process must survive it, and each publish's answer must tell the truth once Kafka is
 * back: an acknowledged message is in the log once, a refused one (any error other than
 * PublishUncertainError) is not in the log at all, an uncertain one at most once.
 */
import { PublishUncertainError } from "@pubsubbud/relay-core";
import { createKafkaBroker } from "@pubsubbud/relay-node/brokers/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandExists } from "../helpers/commands.js";
import { missing } from "../helpers/requirements.js";
import { privateKafka } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";

const server = privateKafka(29192);
const COUNT = 2_000;

describe.skipIf(missing("java", commandExists("java"), "install a JDK (Kafka runs on it)"))(
  "Kafka killed under a burst of publishes",
  () => {
    beforeAll(() => server.start(), 120_000);
    afterAll(() => server.stop(), 60_000);

    it("keeps the relay alive and answers each publish truthfully: acked once, refused never, uncertain at most once", async () => {
      // A crash inside the client library surfaces here (it killed the relay process before).
      const crashes: string[] = [];
      const onCrash = (error: unknown) => void crashes.push(String(error));
      process.on("uncaughtException", onCrash);
      const broker = await createKafkaBroker({ url: "kafka://127.0.0.1:29192" });
      try {
        const ns = `outage${Date.now().toString(36)}`;
        await broker.listen(ns, { message: () => {}, gap: () => {} });
        const answers = new Map<string, "acked" | "uncertain" | "refused">();
        const pad = "x".repeat(4_000);
        const pending = Array.from({ length: COUNT }, (_, i) =>
          broker.publish(ns, { channel: "burst", id: `b${i}`, data: { i, pad } }).then(
            () => void answers.set(`b${i}`, "acked"),
            (error) =>
              void answers.set(
                `b${i}`,
                error instanceof PublishUncertainError ? "uncertain" : "refused",
              ),
          ),
        );
        await waitFor(() => answers.size >= 200, "the first 200 answers", 60_000);
        await server.kill();
        await Promise.all(pending);
        await server.start();
        let head = await broker.head(ns).catch(() => undefined);
        while (!head) {
          await new Promise((resolve) => setTimeout(resolve, 50)); // poll until Kafka answers
          head = await broker.head(ns).catch(() => undefined);
        }
        const log = (await broker.since(ns, { epoch: head.epoch, offset: "" })) ?? [];
        const ids = log.map((m) => m.id);
        const inLog = new Set(ids);
        const of = (kind: string) => [...answers].filter(([, a]) => a === kind).map(([id]) => id);
        const counts = Object.fromEntries(
          ["acked", "uncertain", "refused"].map((kind) => [kind, of(kind).length]),
        );
        process.stderr.write(
          `kafka outage: ${JSON.stringify({ ...counts, logged: ids.length })}\n`,
        );
        expect(crashes).toEqual([]);
        expect(counts.acked).toBeLessThan(COUNT);
        expect(ids.length).toBe(inLog.size);
        expect(of("acked").filter((id) => !inLog.has(id))).toEqual([]);
        expect(of("refused").filter((id) => inLog.has(id))).toEqual([]);
      } finally {
        process.off("uncaughtException", onCrash);
        await broker.close();
      }
    }, 300_000);
    // 300 s: after the SIGKILL the request in flight takes 90–135 s to fail on this machine
    // alone (the client library's reconnects), and every publish queued behind it waits that
    // long for its refusal; one loaded CI run passed 180 s. A publish deadline for the Kafka
    // broker is not there yet (docs/brokers.md).
  },
);
