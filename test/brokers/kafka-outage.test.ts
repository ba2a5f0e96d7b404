/**
 * Kafka killed (SIGKILL) under thousands of pipelined publishes, on a private Kafka of its own:
 * the relay process must survive it, and each publish's answer must tell the truth once Kafka is
 * back: an acknowledged message is in the log once, a refused one (any error other than
 * PublishUncertainError) is not in the log at all, an uncertain one at most once. Then Kafka
 * frozen (SIGSTOP): the publish deadline alone answers, while nothing comes back from Kafka.
 */
import { PublishUncertainError } from "@pubsubbud/relay-core";
import { createKafkaBroker } from "@pubsubbud/relay-node/brokers/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandExists } from "../helpers/commands.js";
import { missing } from "../helpers/requirements.js";
import { privateKafka } from "../helpers/services.js";
import { waitFor } from "../helpers/wait.js";
import { recorder } from "./kafka-helpers.js";

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
          Promise.resolve(
            broker.publish(ns, { channel: "burst", id: `b${i}`, data: { i, pad } }),
          ).then(
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
        const headOrNothing = () =>
          Promise.resolve()
            .then(() => broker.head(ns))
            .catch(() => undefined);
        let head = await headOrNothing();
        while (!head) {
          await new Promise((resolve) => setTimeout(resolve, 50)); // poll until Kafka answers
          head = await headOrNothing();
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
    }, 120_000);
    // 120 s: two Kafka starts and a burst; every publish is answered by its deadline (10 s).

    it("answers by the publish deadline while Kafka is frozen: the request in flight uncertain, those queued behind it failed and never delivered", async () => {
      await server.start();
      const broker = await createKafkaBroker({
        url: "kafka://127.0.0.1:29192",
        publishTimeoutMs: 2_000,
        // The client library's own request timeout, far past the test's: only the deadline answers.
        connectTimeoutMs: 600_000,
      });
      const delivered = recorder();
      try {
        const ns = `frozen${Date.now().toString(36)}`;
        await broker.listen(ns, delivered.listener);
        await broker.publish(ns, { channel: "c", id: "warm", data: 0 });
        const inputs = Array.from({ length: 20 }, (_, i) => ({
          channel: "c",
          id: `f${i}`,
          data: i,
        }));
        await server.freeze();
        let answers: string[];
        try {
          // The first request leaves at once and hangs; the other publishes wait behind it.
          // Kafka answers nothing until it is thawed: every answer here is the deadline's.
          answers = await Promise.all(
            inputs.map((input) =>
              Promise.resolve(broker.publish(ns, input)).then(
                () => "acked",
                (error) => (error instanceof PublishUncertainError ? "uncertain" : "failed"),
              ),
            ),
          );
        } finally {
          await server.thaw();
        }
        expect(answers).toEqual(["uncertain", ...inputs.slice(1).map(() => "failed")]);
        // The queue frees once Kafka answers the held request: retry until it does.
        const after = { channel: "c", id: "after", data: "after" };
        const publishAfter = () =>
          Promise.resolve(broker.publish(ns, after)).then(
            () => true,
            () => false,
          );
        while (!(await publishAfter()));
        await waitFor(() => delivered.ids().includes("after"), "the message published after");
        const failed = inputs.slice(1).map((input) => input.id);
        expect(delivered.ids().filter((id) => failed.includes(id))).toEqual([]);
        const head = await broker.head(ns);
        const log = (await broker.since(ns, { epoch: head.epoch, offset: "" })) ?? [];
        expect(log.map((m) => m.id).filter((id) => failed.includes(id))).toEqual([]);
        // Retried with their ids: the failed ones are new to the log; the uncertain one,
        // appended or not while it was held, is delivered once.
        const retried = await Promise.all(inputs.map((input) => broker.publish(ns, input)));
        expect(retried.slice(1).map((outcome) => outcome.duplicate)).toEqual(
          failed.map(() => false),
        );
        await waitFor(() => delivered.ids().includes("f19"), "the retried messages");
        expect(delivered.ids().filter((id) => id === "f0")).toEqual(["f0"]);
      } finally {
        await broker.close();
      }
    }, 120_000);
  },
);
