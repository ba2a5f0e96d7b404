/**
 * Suites that need something outside Node (a browser, a broker) ask here. Missing locally, the
 * suite is skipped and the reason printed; with PUBSUBBUD_REQUIRE_SERVICES=1 (CI) it is an error.
 */
export function missing(what: string, available: boolean, fix: string): boolean {
  if (available) return false;
  const reason = `${what} is not available: ${fix}`;
  if (process.env.PUBSUBBUD_REQUIRE_SERVICES === "1") throw new Error(`${reason} (required in CI)`);
  process.stderr.write(`skipping: ${reason}\n`);
  return true;
}
