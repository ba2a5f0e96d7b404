// A local npm registry for the registry test: verdaccio with the config file given, on a free
// port of 127.0.0.1. Prints "listening on <port>" once it accepts requests.
import { runServer } from "verdaccio";

const server = await runServer(process.argv[2]);
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening on ${server.address().port}\n`);
});
