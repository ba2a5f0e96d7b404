// What test-setup/relay.ts provides to the tests inside workerd.
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    relayNodeUrl: string;
  }
}
