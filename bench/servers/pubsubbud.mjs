// PubsubBud relay-node on the embedded memory broker, defaults otherwise.
import { startRelay } from "@pubsubbud/relay-node";
import { serve } from "./common.mjs";

const relay = await startRelay({ port: 0, livePage: false });
serve(relay.port);
