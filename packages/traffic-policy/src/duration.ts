/**
 * Go-style durations as ngrok writes them (`60s`, `1m30s`, `10m`, `1.5h`, `250ms`). Policies are written against
 * ngrok's docs, so the syntax must match theirs rather than ISO 8601.
 */
const unitMilliseconds: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const durationPattern = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const partPattern = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (!durationPattern.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(partPattern)) total += Number(amount) * (unitMilliseconds[unit!] ?? NaN);
  return Number.isFinite(total) ? total : undefined;
}
