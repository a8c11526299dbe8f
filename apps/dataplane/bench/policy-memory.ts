/**
 * What one compiled policy costs (heap after a full GC) and how long a compile takes: the figures behind the
 * compiled-policy cache size. `node --expose-gc --import tsx bench/policy-memory.ts`.
 */
import { compile, parse } from '@gatehouse/traffic-policy';
import { walkthroughPolicy } from '../test/helpers/dataplane-harness.js';

const count = Number(process.env.POLICIES ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const used = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const sources = Array.from({ length: count }, (_, index) =>
  walkthroughPolicy.replace('name: per-token', `name: per-token-${index}`),
);
const base = used();
const parsed = sources.map((source) => parse(source));
const afterParse = used();
const compiled = parsed.map((policy) => compile(policy, { endpointType: 'cloud' }));
const afterCompile = used();
parsed.length = 0;
const compiledOnly = used();
const times: number[] = [];
for (let index = 0; index < 2_000; index++) {
  const source = walkthroughPolicy.replace('name: per-token', `name: per-token-x${index}`);
  const started = process.hrtime.bigint();
  compile(parse(source), { endpointType: 'cloud' });
  times.push(Number(process.hrtime.bigint() - started) / 1e6);
}
times.sort((a, b) => a - b);
const kb = (bytes: number) => (bytes / count / 1024).toFixed(2);
console.log(
  `per policy: parsed AST ${kb(afterParse - base)} KB, compiled (with AST kept) ${kb(afterCompile - afterParse)} KB, compiled alone ${kb(compiledOnly - base)} KB`,
);
console.log(
  `parse+compile of one walkthrough policy: p50 ${times[1000]!.toFixed(3)} ms, p99 ${times[1980]!.toFixed(3)} ms, max ${times.at(-1)!.toFixed(3)} ms`,
);
console.log(compiled.length);
