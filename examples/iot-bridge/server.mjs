// examples/iot-bridge: sensors speak MQTT, browsers speak WebSocket. The relay runs on the MQTT
// broker, so a sensor's `mosquitto_pub -t pubsubbud/iot/sensor.<name> -m '<json>'` reaches every
// dashboard subscribed to `sensor.*` in namespace `iot`, and browser publishes reach MQTT.
//   npm start -w @pubsubbud/example-iot-bridge         (MQTT=mqtt://host:1883 to use another)
//   npm run sensors -w @pubsubbud/example-iot-bridge   (three simulated sensors)
import { fileURLToPath } from "node:url";
import { createBrokerFromUrl, createRelay } from "@pubsubbud/relay-node";
import { servePage } from "../shared/page-server.mjs";
import app from "./app.generated.js";

const PAGE = `<!doctype html><meta charset="utf-8"><title>PubsubBud sensors</title>
<style>body{font:16px system-ui;margin:3rem}td{padding:.3rem 1.5rem .3rem 0;font-family:monospace}</style>
<h1>Sensors <small id="state">connecting</small></h1>
<table><thead><tr><th>sensor</th><th>value</th><th>at</th></tr></thead><tbody id="sensors"></tbody></table>
<script src="/app.js"></script>`;

/** Starts the relay on the MQTT broker, with the dashboard. */
export async function startBridge({
  mqtt = process.env.MQTT ?? "mqtt://127.0.0.1:1883",
  port = 8095,
  host = "127.0.0.1",
} = {}) {
  const relay = createRelay({ broker: await createBrokerFromUrl(mqtt), livePage: true });
  const server = await servePage({ relay, html: PAGE, app, port, host });
  return {
    url: server.url,
    async close() {
      await relay.close();
      await server.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bridge = await startBridge();
  process.stdout.write(
    `PubsubBud sensor dashboard on ${bridge.url}\nTry: mosquitto_pub -t pubsubbud/iot/sensor.temp -m '{"c":21.5}'\n`,
  );
}
