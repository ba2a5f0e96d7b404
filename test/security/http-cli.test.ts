/**
 * The CLI's defaults as an attacker reads them: what `pubsubbud relay` opens when it is told to
 * bind something other than loopback, or a name that only looks like loopback.
 */
import { authFromConfig, loadConfig } from "@pubsubbud/relay-node";
import { describe, expect, it } from "vitest";
import { startRelayProcess } from "../helpers/relay-process.js";

describe("pubsubbud relay's defaults", () => {
  it("refuses to start open on a host name that merely starts with 127. (it may resolve anywhere)", () => {
    for (const host of ["127.0.0.1.nip.io", "127.attacker.example", "127.0.0.1 "]) {
      expect(() => authFromConfig(loadConfig({ flags: { host } })), host).toThrow(/no auth/);
    }
    // Real loopback addresses stay open for development, as the quick start needs.
    for (const host of ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
      expect(authFromConfig(loadConfig({ flags: { host } })), host).toBeUndefined();
  });

  it("refuses --host 0.0.0.0 without auth, naming what to set, before it binds anything", async () => {
    await expect(startRelayProcess(["relay", "--host", "0.0.0.0", "--port", "0"])).rejects.toThrow(
      /binds 0\.0\.0\.0 with no auth: set PUBSUBBUD_JWT_SECRET/,
    );
  });
});
