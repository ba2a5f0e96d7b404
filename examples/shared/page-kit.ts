// What every example page's script does the same way: show the connection state in the header's
// `#state` badge, and turn a message's JSON data into text a person reads at a glance.
import type { PubsubBudClient } from "@pubsubbud/client";

/** Keeps the `#state` badge (text and `data-state`, which the shared style colours) current. */
export function showState(client: PubsubBudClient): void {
  const badge = document.getElementById("state") as HTMLElement;
  client.addEventListener("state", (e) => {
    badge.textContent = e.detail.state;
    badge.dataset.state = e.detail.state;
  });
}

/** `{"c":21.5,"unit":"C"}` → `c: 21.5 · unit: C`; other values as compact JSON. */
export function readable(data: unknown): string {
  if (data === null || typeof data !== "object" || Array.isArray(data))
    return typeof data === "string" ? data : JSON.stringify(data);
  return Object.entries(data)
    .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" · ");
}
