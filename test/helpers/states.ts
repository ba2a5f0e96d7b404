import type { ClientState, PubsubBudClient } from "@pubsubbud/client";

/** Records a client's state changes, with the close code where one caused the change. */
export function stateLog(client: PubsubBudClient): Array<{ state: ClientState; code?: number }> {
  const log: Array<{ state: ClientState; code?: number }> = [];
  client.addEventListener("state", ({ detail: { state, code } }) =>
    log.push(code === undefined ? { state } : { state, code }),
  );
  return log;
}
