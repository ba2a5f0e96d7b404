// A Worker as a user writes it: the relay from the registry, re-exported with its object class.
export { default, NamespaceObject } from "@pubsubbud/relay-worker";
