// Workload 7 of npm run bench: the matching work one publish can cause under the default
// budgets (docs/security.md, "Pattern matching"). In-process: relay-core's subscription index
// filled by an attacker's patterns, timed over one 255-character channel.
import { compilePattern } from "@pubsubbud/protocol";
import { DEFAULT_RELAY_LIMITS } from "@pubsubbud/relay-core";
import { SubscriptionIndex } from "@pubsubbud/relay-core/internal";

const { maxPatternsPerPublish, maxPatternCostPerNamespace } = DEFAULT_RELAY_LIMITS;

/** Fills an index with `patterns` while the namespace budgets admit them; returns it and the count. */
function fill(patterns) {
  const index = new SubscriptionIndex();
  let admitted = 0;
  for (const source of patterns) {
    const compiled = compilePattern(source);
    if (index.overBudget(compiled, DEFAULT_RELAY_LIMITS)) continue;
    index.add(compiled, `s${admitted % 256}`);
    admitted++;
  }
  return { index, admitted };
}

function timePublish(index, channel) {
  let visits = 0;
  const visit = () => void visits++;
  for (let i = 0; i < 20; i++) index.forEachMatch(channel, visit); // warm up
  const runs = 200;
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) index.forEachMatch(channel, visit);
  return Number(process.hrtime.bigint() - start) / runs / 1000;
}

const range = (n, f) => Array.from({ length: n }, (_, i) => f(i));
const cases = [
  {
    name: "the reported attack: 1,024 patterns `*` + 120×a + `b<n>`, channel 255×a",
    patterns: range(1024, (i) => `*${"a".repeat(120)}b${i}`),
    channel: "a".repeat(255),
  },
  {
    name: `the candidate budget (${maxPatternsPerPublish.toLocaleString("en-US")}): distinct patterns spread over the prefixes of one channel, literal middles that nearly match`,
    patterns: range(20_000, (i) => `${"a".repeat(i % 40)}*${"a".repeat(100)}${i.toString(36)}*`),
    channel: "a".repeat(255),
  },
  {
    name: `the cost budget (${maxPatternCostPerNamespace.toLocaleString("en-US")}): \`?\` inside segments between two \`*\`, each failing at every position`,
    patterns: range(64, (i) => `*${"a".repeat(180)}?b${i}*`),
    channel: "a".repeat(255),
  },
];

export function runMatchingBench() {
  const lines = [
    "### matching work per publish under the default budgets (one namespace, one 255-character channel)",
    "",
    "| attack | patterns admitted | µs per publish |",
    "|---|---|---|",
  ];
  const rows = [];
  for (const c of cases) {
    const { index, admitted } = fill(c.patterns);
    const micros = timePublish(index, c.channel);
    rows.push({ name: c.name, admitted, micros });
    lines.push(`| ${c.name} | ${admitted.toLocaleString("en-US")} | ${micros.toFixed(1)} |`);
  }
  return { rows, lines };
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.log(runMatchingBench().lines.join("\n"));
