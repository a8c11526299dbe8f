import { readFileSync } from 'node:fs';

/**
 * `tsx bench/cpuprofile-summary.ts FILE.cpuprofile [N]`: the top N frames of a `node --cpu-prof` profile by self time,
 * with their share of all samples, plus the same grouped by package (node_modules/<name>, node: internals, our code).
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, countText] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: tsx bench/cpuprofile-summary.ts FILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map<number, number>();
profile.samples.forEach((id, index) =>
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)),
);
// Shares are of busy time: idle samples say how loaded the process was, not where its time went.
let idle = 0;
for (const [id, micros] of selfMicros) if (byId.get(id)!.callFrame.functionName === '(idle)') idle += micros;
const total = [...selfMicros.values()].reduce((sum, value) => sum + value, 0) - idle;

const frames = new Map<string, number>();
const packages = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  if (functionName === '(idle)') continue;
  const where = url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, 'nm:')
    .replace(/.*\/(apps|packages)\//, '$1/');
  const frame = `${functionName || '(anonymous)'} ${where}${url === '' ? '' : `:${lineNumber + 1}`}`;
  frames.set(frame, (frames.get(frame) ?? 0) + micros);
  const owner =
    url === ''
      ? functionName.startsWith('(')
        ? functionName
        : '(native)'
      : url.startsWith('node:')
        ? url.split('/')[0]!.replace(/^node:internal/, 'node:internal')
        : (/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? where.split('/').slice(0, 2).join('/'));
  packages.set(owner, (packages.get(owner) ?? 0) + micros);
}
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
