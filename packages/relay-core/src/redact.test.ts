import { describe, expect, it } from "vitest";
import { redactSecrets } from "./redact.js";

const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTc5MDAwMDAwMH0.c2lnbmF0dXJlLWJ5dGVz";

describe("redactSecrets", () => {
  it("masks token query parameters, bearer values, bare JWTs and URL passwords", () => {
    const line = JSON.stringify({
      message: "upgrade refused",
      url: `ws://relay.example.com/ns/chat?room=1&token=${jwt}&access_token=abc123`,
      header: `Bearer ${jwt}`,
      error: `verification failed for ${jwt}`,
      broker: "amqp://guest:hunter2@mq.internal:5672",
    });
    const out = redactSecrets(line);
    expect(out).not.toContain(jwt.slice(0, 20));
    expect(out).not.toContain("abc123");
    expect(out).not.toContain("hunter2");
    expect(JSON.parse(out)).toEqual({
      message: "upgrade refused",
      url: "ws://relay.example.com/ns/chat?room=1&token=***&access_token=***",
      header: "Bearer ***",
      error: "verification failed for ***",
      broker: "amqp://guest:***@mq.internal:5672",
    });
  });

  it("leaves ordinary log lines as they are", () => {
    const line = JSON.stringify({ message: "relay listening", url: "http://127.0.0.1:8080", n: 3 });
    expect(redactSecrets(line)).toBe(line);
  });
});
