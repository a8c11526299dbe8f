import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Why the hot paths keep nothing per request in a long-lived Map or Set (ARCHITECTURE.md, "Garbage"):
 * `npx tsx bench/map-churn-promotion.ts`. Each variant runs in its own node under --trace-gc-nvp: a loop that
 * keeps ~50 objects "in flight" (60 new ones per tick, random ones finished), like requests, and also records them in
 *   none        — nothing else;
 *   aged-set    — a Set that sat through a few scavenges first (as after a boot or a quiet spell);
 *   fresh-set   — a Set created just before the loop, then one full GC halfway (as happens under load);
 *   array       — an array with swap-remove, aged like aged-set.
 * Prints the bytes promoted by scavenges and their total pause, first and second half of the run.
 */
const variants = ['none', 'aged-set', 'fresh-set', 'array'] as const;
type Variant = (typeof variants)[number];

const sink: { last: unknown } = { last: undefined };

interface Item {
  payload: number[];
  id: number;
  /** Its index in the array variant's array. */
  slot?: number;
}

function workload(variant: Variant): void {
  const objects = 1_200_000;
  let set = new Set<object>([{}]);
  const array: Item[] = [];
  if (variant !== 'fresh-set') {
    // Allocation enough for several scavenges while the collections sit idle: their storage is promoted. (Stored
    // where the optimiser cannot prove it unused, or the allocations would be optimised away.)
    for (let index = 0; index < 2_000_000; index++) sink.last = { index };
  }
  if (variant === 'fresh-set') set = new Set(set);
  const inFlight: Item[] = [];
  let made = 0;
  const tick = (): void => {
    for (let index = 0; index < 60; index++) {
      const item: Item = { payload: new Array<number>(300).fill(made), id: made++ };
      if (variant === 'aged-set' || variant === 'fresh-set') set.add(item);
      if (variant === 'array') {
        item.slot = array.length;
        array.push(item);
      }
      inFlight.push(item);
    }
    while (inFlight.length > 50) {
      const index = Math.floor(Math.random() * inFlight.length);
      const done = inFlight[index]!;
      inFlight[index] = inFlight[inFlight.length - 1]!;
      inFlight.pop();
      if (variant === 'aged-set' || variant === 'fresh-set') set.delete(done);
      if (variant === 'array') {
        const last = array.pop()!;
        if (last !== done) {
          array[done.slot!] = last;
          last.slot = done.slot;
        }
      }
    }
    if (variant === 'fresh-set' && made === objects / 2) (globalThis as { gc?: () => void }).gc?.();
    if (made < objects) setImmediate(tick);
  };
  tick();
}

const chosen = process.argv[2] as Variant | undefined;
if (chosen !== undefined) workload(chosen);
else {
  const self = fileURLToPath(import.meta.url);
  console.log(
    'Scavenges while ~50 short-lived objects at a time pass through a long-lived collection (Node',
    process.version + ')',
  );
  for (const variant of variants) {
    const run = spawnSync(process.execPath, ['--expose-gc', '--trace-gc-nvp', '--import', 'tsx', self, variant], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const scavenges = run.stdout.split('\n').filter((line) => line.includes('gc=s ') && line.includes(' promoted='));
    const half = Math.floor(scavenges.length / 2);
    const sum = (lines: string[], field: string) =>
      lines.reduce((total, line) => total + Number(new RegExp(` ${field}=([\\d.]+)`).exec(line)?.[1] ?? 0), 0);
    const describe = (lines: string[]) =>
      `${(sum(lines, 'promoted') / 1e6).toFixed(1).padStart(7)} MB promoted, pauses ${sum(lines, 'pause').toFixed(0).padStart(5)} ms`;
    console.log(
      `  ${variant.padEnd(10)} ${String(scavenges.length).padStart(4)} scavenges; first half ${describe(scavenges.slice(0, half))}; second half ${describe(scavenges.slice(half))}`,
    );
  }
}
