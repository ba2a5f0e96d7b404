// Globals every runtime PubsubBud supports provides (Node ≥ 20, browsers, workerd), declared
// here because relay-core compiles without DOM or Node types on purpose.
declare function queueMicrotask(callback: () => void): void;
