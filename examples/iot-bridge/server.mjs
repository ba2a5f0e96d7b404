// examples/iot-bridge: sensors speak MQTT, browsers speak WebSocket. The relay runs on the MQTT
// broker, so a sensor's `mosquitto_pub -t pubsubbud/iot/sensor.<name> -m '<json>'` reaches every
// dashboard subscribed to `sensor.*` in namespace `iot`, and browser publishes reach MQTT.
//   npm start -w @pubsubbud/example-iot-bridge         (MQTT=mqtt://host:1883 to use another)
//   npm run sensors -w @pubsubbud/example-iot-bridge   (three simulated sensors)
import { fileURLToPath } from "node:url";
import { createBrokerFromUrl, createRelay } from "@pubsubbud/relay-node";
import { servePage } from "../shared/page-server.mjs";
import { examplePage } from "../shared/page-style.mjs";
import app from "./app.generated.js";

const PAGE = examplePage(
  "Sensors",
  `<section><h2>Latest reading per sensor <span class="note">(<code>sensor.*</code> in namespace <code>iot</code>)</span></h2>
<table id="table" hidden><thead><tr><th>sensor</th><th>value</th><th>at</th></tr></thead><tbody id="sensors"></tbody></table>
<div class="empty" id="empty"><p><b>No readings yet.</b> Sensors publish over MQTT; start three simulated ones:</p>
<p><code>npm run sensors -w @pubsubbud/example-iot-bridge</code></p>
<p>or send one reading yourself:</p><p><code>mosquitto_pub -t pubsubbud/iot/sensor.temp -m '{"c":21.5}'</code></p></div></section>
<style>td:first-child{font-weight:600}td:nth-child(2){font-family:ui-monospace,monospace;color:#7dd3fc}
td:last-child{color:#94a3b8;font-size:13px;white-space:nowrap;font-variant-numeric:tabular-nums}</style>`,
);

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
