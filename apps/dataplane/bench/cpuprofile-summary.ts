import { readFileSync } from 'node:fs';
import { type CpuProfile, selfTimes } from './cpuprofile.js';

/**
 * `tsx bench/cpuprofile-summary.ts FILE.cpuprofile [N]`: the top N frames of a `node --cpu-prof` profile by self time,
 * with their share of all samples, plus the same grouped by package (node_modules/<name>, node: internals, our code).
 */
const [file, countText] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: tsx bench/cpuprofile-summary.ts FILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const { frames, owners: packages, idle } = selfTimes(profile);
const total = [...frames.values()].reduce((sum, value) => sum + value, 0);
const top = (map: Map<string, number>, count: number) =>
  [...map]
    .sort((left, right) => right[1] - left[1])
    .slice(0, count)
    .map(
      ([name, micros]) =>
        `${((micros / total) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${name}`,
    )
    .join('\n');
console.log(
  `${(total / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle\n\nby frame (self time):\n${top(frames, Number(countText ?? 40))}`,
);
console.log(`\nby owner:\n${top(packages, 20)}`);
