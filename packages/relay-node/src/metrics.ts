import type { RelayStats } from "@pubsubbud/relay-core";

type Sample = [labels: Record<string, string | number>, value: number];

function metric(name: string, type: "gauge" | "counter", help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) {
    const pairs = Object.entries(labels).map(
      ([key, v]) => `${key}="${String(v).replace(/["\\\n]/g, "_")}"`,
    );
    lines.push(`${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${value}`);
  }
  return lines.join("\n");
}

/** Renders relay stats in the Prometheus text exposition format (version 0.0.4). */
export function renderMetrics(stats: RelayStats, rssBytes: number): string {
  const c = stats.counters;
  const subscriptions = stats.namespaces.reduce((sum, ns) => sum + ns.subscriptions, 0);
  return `${[
    metric("pubsubbud_connections", "gauge", "Open WebSocket connections.", [
      [{}, stats.connections],
    ]),
    metric("pubsubbud_namespaces", "gauge", "Namespaces with connections on this relay.", [
      [{}, stats.namespaces.length],
    ]),
    metric("pubsubbud_subscriptions", "gauge", "Subscriptions held by connections on this relay.", [
      [{}, subscriptions],
    ]),
    metric("pubsubbud_connections_opened_total", "counter", "Connections accepted.", [
      [{}, c.connectionsOpened],
    ]),
    metric("pubsubbud_frames_received_total", "counter", "WebSocket frames received.", [
      [{}, c.framesReceived],
    ]),
    metric(
      "pubsubbud_frames_sent_total",
      "counter",
      "WebSocket frames sent (a batch counts once).",
      [[{}, c.framesSent]],
    ),
    metric(
      "pubsubbud_messages_published_total",
      "counter",
      "Messages accepted into a namespace log by this relay.",
      [[{}, c.published]],
    ),
    metric(
      "pubsubbud_messages_duplicate_total",
      "counter",
      "Publishes recognised as retries inside the dedupe window.",
      [[{}, c.duplicates]],
    ),
    metric(
      "pubsubbud_messages_fanned_out_total",
      "counter",
      "Log messages this relay delivered to its connections.",
      [[{}, c.fannedOut]],
    ),
    metric("pubsubbud_deliveries_total", "counter", "Message copies queued to connections.", [
      [{}, c.deliveries],
    ]),
    metric("pubsubbud_replayed_total", "counter", "Messages replayed to resuming connections.", [
      [{}, c.replayed],
    ]),
    metric("pubsubbud_resumes_total", "counter", "Resume attempts by result.", [
      [{ result: "recovered" }, c.resumesRecovered],
      [{ result: "lost" }, c.resumesLost],
    ]),
    metric(
      "pubsubbud_errors_total",
      "counter",
      "Error frames sent, by code.",
      Object.entries(stats.errors).map(([code, n]) => [{ code }, n]),
    ),
    metric(
      "pubsubbud_closes_total",
      "counter",
      "Connections closed by the relay, by close code.",
      Object.entries(stats.closes).map(([code, n]) => [{ code }, n]),
    ),
    metric("pubsubbud_broker_up", "gauge", "1 while the broker is reachable.", [
      [{ broker: stats.broker.name }, stats.broker.healthy ? 1 : 0],
    ]),
    metric("process_resident_memory_bytes", "gauge", "Resident memory of the relay process.", [
      [{}, rssBytes],
    ]),
  ].join("\n")}\n`;
}
