/**
 * Generators of hostile HTTP requests for the relays' HTTP and upgrade surface (fast-check), and
 * the contract every answer must meet: a documented status and, for a refusal, a documented code
 * (docs/operations.md, "HTTP endpoints"). The lists are the documentation's, written out here so
 * an undocumented code fails the test.
 */
import fc from "fast-check";

/** Every status either relay may answer with on its HTTP surface, 500 excepted (a bug). */
export const DOCUMENTED_STATUSES = new Set([
  101, 200, 400, 401, 403, 404, 405, 408, 413, 415, 426, 429, 431, 503,
]);

/** Every `code` of an HTTP refusal body. */
export const DOCUMENTED_CODES = new Set([
  "not_found",
  "method_not_allowed",
  "upgrade_required",
  "bad_namespace",
  "bad_request",
  "unsupported_media_type",
  "request_timeout",
  "headers_too_large",
  "too_many_pending",
  "bad_frame",
  "bad_channel",
  "bad_headers",
  "frame_too_large",
  "too_deep",
  "unauthorized",
  "forbidden",
  "too_many_connections",
  "publish_failed",
  "publish_uncertain",
]);

/** One generated request. */
export interface FuzzRequest {
  method: string;
  path: string;
  version: string;
  headers: Array<[string, string]>;
  body: string;
}

// Pieces of paths: broken and overlong percent-escapes, traversal, separators, unicode.
const PATH_PIECES = [
  "%",
  "%z",
  "%zz",
  "%E0%A4%A",
  "%C0%AE",
  "%ED%A0%80",
  "%00",
  "%2F",
  "%25",
  "%2e%2e",
  "..",
  ".",
  "/",
  "//",
  "chat",
  "a.b",
  "é",
  "💥",
  "%u0041",
  ";",
  "?",
  "#",
  "default",
  "ns",
  "v1",
  "publish",
  "x".repeat(300),
];

const path = fc.oneof(
  fc.constantFrom(
    "/",
    "/ns/chat",
    "/ns/%",
    "/v1/ns/chat/publish",
    "/v1/ns/%/publish",
    "/healthz",
    "/metrics",
    "/v1/stats",
    "*",
    "http://evil.example/ns/chat",
    "//ns/chat",
    `/ns/${"a".repeat(5000)}`,
  ),
  fc
    .tuple(
      fc.constantFrom("/ns/", "/v1/ns/", "/", "/ns/chat/", ""),
      fc.array(fc.constantFrom(...PATH_PIECES), { maxLength: 6 }),
      fc.constantFrom("", "/publish", "/", "?x=%", "?token=abc&&==&%zz", "?a=é"),
    )
    .map(([head, pieces, tail]) => head + pieces.join("") + tail),
  fc.string({ unit: "binary", maxLength: 40 }).map((text) => `/${text}`),
);

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("GET", "POST") },
  {
    weight: 2,
    arbitrary: fc.constantFrom("PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "BREW"),
  },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 8, unit: "grapheme-ascii" }) },
);

/** Header values that make sense for each header, and some that make none. */
const HEADER_VALUES: Record<string, string[]> = {
  origin: [
    "https://app.example.com",
    "https://evil.example",
    "null",
    "https://app.example.com.evil.com",
    "HTTPS://APP.EXAMPLE.COM",
    "",
  ],
  upgrade: ["websocket", "WebSocket", "h2c", "websocket, websocket", ""],
  connection: ["Upgrade", "keep-alive", "close", "Upgrade, keep-alive", ""],
  "sec-websocket-key": ["dGhlIHNhbXBsZSBub25jZQ==", "", "short", "x".repeat(200)],
  "sec-websocket-version": ["13", "8", "", "13, 8", "abc"],
  "sec-websocket-protocol": [
    "pubsubbud.v1",
    "mqtt",
    "pubsubbud.v1, pubsubbud.v1",
    "a b",
    ",",
    "pubsubbud.v1,",
    "pubsubbud.v1, x".repeat(500),
  ],
  "sec-websocket-extensions": ["permessage-deflate", "permessage-deflate; x=;;", "\u00ff"],
  "content-type": [
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
    "",
  ],
  authorization: ["Bearer", "Bearer x.y.z", "Basic YTpi", `Bearer ${"x".repeat(9000)}`],
  "content-length": ["-1", "abc", "99999999999", "0", "1, 2"],
  "transfer-encoding": ["chunked", "gzip", "chunked, chunked", "identity"],
  "x-real-ip": ["203.0.113.9", "", "::1"],
  "cf-connecting-ip": ["203.0.113.9", ""],
  cookie: ["a=b"],
  "x-big": ["y".repeat(20_000)],
};

const header = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .constantFrom(...Object.keys(HEADER_VALUES))
      .chain((name) =>
        fc.tuple(fc.constant(name), fc.constantFrom(...(HEADER_VALUES[name] as string[]))),
      ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.string({ minLength: 1, maxLength: 12, unit: "grapheme-ascii" }),
      fc.string({ maxLength: 30, unit: "grapheme-ascii" }),
    ),
  },
);

const deep = (depth: number) =>
  `{"channel":"chat.x","data":${"[".repeat(depth)}${"]".repeat(depth)}}`;

const body = fc.oneof(
  fc.constant(""),
  fc.constant('{"channel":"chat.x","data":{"n":1}}'),
  fc.constant('{"channel":"chat.x","data":1,"headers":{"__proto__":"x"}}'),
  fc.constant('{"channel":"chat.x","data":1,"headers":{"a":{"b":1}}}'),
  fc.constant('{"channel":"_inbox.someone","data":"reply"}'),
  fc.constantFrom("{", "[", '{"channel":', "null", "[]", '"x"', "\u0000", "\ud800"),
  fc.integer({ min: 1, max: 6000 }).map(deep),
  fc.integer({ min: 1, max: 200_000 }).map((n) => `{"channel":"chat.x","data":"${"z".repeat(n)}"}`),
  fc.string({ maxLength: 200, unit: "binary" }),
  fc.json({ maxDepth: 4 }),
);

/** A request as a well-formed client would shape it around hostile contents. */
export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    method,
    path,
    version: fc.constantFrom(
      "HTTP/1.1",
      "HTTP/1.1",
      "HTTP/1.1",
      "HTTP/1.0",
      "HTTP/2.0",
      "HTTP/1.1x",
    ),
    host: fc.constantFrom(
      "127.0.0.1",
      "localhost",
      "evil.example",
      "127.0.0.1.evil.example",
      "[::1]",
      "",
    ),
    headers: fc.array(header, { maxLength: 6 }),
    body,
    lengthRight: fc.boolean(),
    chunked: fc.boolean(),
  })
  .map(({ method, path, version, host, headers, body, lengthRight, chunked }) => {
    const all: Array<[string, string]> = host ? [["host", host], ...headers] : headers;
    const upgrade = all.some(([name]) => name.toLowerCase() === "upgrade");
    // An upgrade's body is never read; other requests get a consistent frame most of the time.
    const sent = upgrade ? "" : body;
    const framed = all.some(([name]) =>
      ["content-length", "transfer-encoding"].includes(name.toLowerCase()),
    );
    if (!upgrade && !framed && sent !== "") {
      if (chunked) all.push(["transfer-encoding", "chunked"]);
      else if (lengthRight) all.push(["content-length", String(Buffer.byteLength(sent))]);
    }
    return shown({ method, path, version, headers: all, body: sent });
  });

/** Gives a request a short printed form, so a counterexample with a 200 KB body stays readable. */
function shown(request: FuzzRequest): FuzzRequest {
  return Object.defineProperty(request, fc.toStringMethod, {
    value: () => describeRequest(request),
    enumerable: false,
  });
}

/** A request in at most a few hundred characters. */
export function describeRequest(request: FuzzRequest): string {
  const body =
    request.body.length > 200
      ? `${request.body.slice(0, 200)}… (${request.body.length})`
      : request.body;
  return JSON.stringify({ ...request, body }).slice(0, 1000);
}

/** True for a request Node hands to the `upgrade` event: `Upgrade` with `Connection: upgrade`. */
export function isUpgrade(request: FuzzRequest): boolean {
  const has = (name: string, value: RegExp) =>
    request.headers.some(([key, text]) => key.toLowerCase() === name && value.test(text));
  return has("upgrade", /./) && has("connection", /upgrade/i);
}

/** The bytes of a generated request on the wire. */
export function requestBytes(request: FuzzRequest): Buffer {
  const head = [`${request.method} ${request.path} ${request.version}`];
  for (const [name, value] of request.headers) head.push(`${name}: ${value}`);
  const chunked = request.headers.some(
    ([name, value]) => name.toLowerCase() === "transfer-encoding" && value === "chunked",
  );
  const body =
    chunked && request.body !== ""
      ? `${Buffer.byteLength(request.body).toString(16)}\r\n${request.body}\r\n0\r\n\r\n`
      : request.body;
  return Buffer.from(`${head.join("\r\n")}\r\n\r\n${body}`, "utf8");
}

/** Raw garbage on the socket, sometimes starting like HTTP. */
export const garbage: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom(
      "",
      "GET ",
      "GET / HTTP/1.1\r\n",
      "POST /v1/ns/chat/publish HTTP/1.1\r\nHost: x\r\n",
    ),
    fc.uint8Array({ maxLength: 400 }),
  )
  // Bytes that are only line breaks are no request at all: HTTP lets a server skip them before a
  // request line, so the relay waiting for one (then closing at EOF) is the right answer.
  .filter(([start, bytes]) => /[^\r\n]/.test(start + Buffer.from(bytes).toString("latin1")))
  .map(([start, bytes]) => Buffer.concat([Buffer.from(start), Buffer.from(bytes)]));
