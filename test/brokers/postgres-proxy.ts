/**
 * A TCP proxy in front of the real PostgreSQL that fails one connection at the moment it carries a
 * given statement: the failure timing a real server cannot produce on demand (a connection that
 * dies while COMMIT is in flight). Bytes are forwarded untouched; only the cut is staged.
 */
import { connect, createServer, type Socket } from "node:net";
import { services } from "../helpers/services.js";

/**
 * What happens to the connection that sends the marked statement:
 * - `drop`: it is cut before the statement reaches the server;
 * - `lose-answer`: the statement reaches the server, which answers, but the answer is lost with
 *   the connection;
 * - `hold-answer`: the statement reaches the server, and its answer is held back forever.
 */
export type CutMode = "drop" | "lose-answer" | "hold-answer";

export interface StatementCut extends AsyncDisposable {
  /** `postgres://postgres@127.0.0.1:<proxy port>/test` */
  readonly url: string;
  /** Fails the next connection that sends bytes containing `marker`; resolves once the server answered it (never for `drop`). */
  arm(marker: string, mode: CutMode): Promise<void>;
}

export async function startStatementCut(): Promise<StatementCut> {
  const sockets = new Set<Socket>();
  let armed: { marker: Buffer; mode: CutMode; answered: () => void } | undefined;
  const server = createServer((client) => {
    const upstream = connect(services.postgres.port, "127.0.0.1");
    let answers: "forward" | "lose" | "hold" = "forward";
    let onAnswer: (() => void) | undefined;
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => {
        sockets.delete(socket);
        // A lost answer keeps the server side open until the server answered (so it committed).
        if (socket === upstream) client.destroy();
        else if (answers !== "lose") upstream.destroy();
      });
      socket.on("error", () => socket.destroy());
    }
    client.on("data", (chunk: Buffer) => {
      const cut = armed && chunk.includes(armed.marker) ? armed : undefined;
      if (!cut) return void upstream.write(chunk);
      armed = undefined;
      if (cut.mode === "drop") {
        client.destroy();
        upstream.destroy();
        return;
      }
      answers = cut.mode === "lose-answer" ? "lose" : "hold";
      onAnswer = cut.answered;
      upstream.write(chunk);
      if (answers === "lose") client.destroy();
    });
    upstream.on("data", (chunk: Buffer) => {
      if (answers === "forward") return void client.write(chunk);
      onAnswer?.();
      onAnswer = undefined;
      if (answers === "lose") upstream.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    arm: (marker, mode) =>
      new Promise<void>((answered) => {
        armed = { marker: Buffer.from(marker), mode, answered };
      }),
    [Symbol.asyncDispose]: close,
  };
}
