/**
 * A TCP proxy that can drop every connection at once and refuse new ones until restored: the
 * network cut of the fault tests. It forwards bytes untouched (a real TCP path, not a fake).
 */
import { connect, createServer, type Socket } from "node:net";

export interface CutProxy extends AsyncDisposable {
  readonly port: number;
  /** `ws://127.0.0.1:<proxy port><path>` */
  url(path?: string): string;
  /** Destroys every proxied connection and refuses new ones. */
  cut(): void;
  /** Accepts connections again. */
  restore(): void;
  /** Sends new connections to another port: a load balancer moving clients to another instance. */
  retarget(port: number): void;
  /** Stops forwarding on the current connections without closing them: a dead link (new ones work). */
  freeze(): void;
  close(): Promise<void>;
}

export async function startCutProxy(
  initialPort: number,
  upstreamHost = "127.0.0.1",
): Promise<CutProxy> {
  let upstreamPort = initialPort;
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(upstreamPort, upstreamHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on("close", () => pairs.delete(pair));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    port,
    url: (path = "") => `ws://127.0.0.1:${port}${path}`,
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      down = false;
    },
    retarget(port) {
      upstreamPort = port;
    },
    freeze() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      pairs.clear();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
