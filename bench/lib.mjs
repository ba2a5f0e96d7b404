// Load-side helpers shared by the bench scripts.

export const now = () => performance.now();

/** Counts deliveries and resolves `until(n)` once n have arrived. */
export function counter(capacity) {
  const latencies = new Float64Array(capacity);
  let count = 0;
  let target = Number.POSITIVE_INFINITY;
  let resolve = () => {};
  return {
    latencies,
    get count() {
      return count;
    },
    record(data) {
      if (count < capacity) latencies[count] = now() - data.t;
      if (++count >= target) resolve();
    },
    until(n) {
      if (count >= n) return Promise.resolve();
      target = n;
      return new Promise((r) => {
        resolve = r;
      });
    },
  };
}

export async function connectMany(target, port, n, batch = 100) {
  const conns = [];
  for (let i = 0; i < n; i += batch)
    conns.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(batch, n - i) }, () => target.connect(port)),
      )),
    );
  return conns;
}

export const percentile = (values, p) => {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

/** Calls `send` `count` times, `rate` times a second on a schedule from the first call. */
export async function atRate(rate, count, send) {
  const start = now();
  for (let sent = 0; sent < count; sent++) {
    const due = start + (sent * 1000) / rate;
    if (due > now()) await new Promise((resolve) => setTimeout(resolve, due - now()));
    send();
  }
}
