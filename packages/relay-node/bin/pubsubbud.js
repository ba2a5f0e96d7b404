#!/usr/bin/env node
// The `pubsubbud` command. Committed (not built) so npm links the command on a fresh clone's
// `npm install`, before the build has written dist/; it loads the built CLI or says how to build.
import { existsSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    "pubsubbud: the CLI is not built yet (no packages/relay-node/dist/cli.js): run `npm run build` in the repository, then try again\n",
  );
  process.exit(1);
}
await import(cli.href);
