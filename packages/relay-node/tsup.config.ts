import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    cli: "src/cli.ts",
    "brokers/memory": "src/brokers/memory.ts",
    "brokers/redis": "src/brokers/redis.ts",
    "brokers/file": "src/brokers/file.ts",
    "brokers/mqtt": "src/brokers/mqtt.ts",
    "brokers/kafka": "src/brokers/kafka.ts",
    "brokers/postgres": "src/brokers/postgres.ts",
    "brokers/nats": "src/brokers/nats.ts",
    "brokers/amqp": "src/brokers/amqp.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  silent: true,
  platform: "node",
});
