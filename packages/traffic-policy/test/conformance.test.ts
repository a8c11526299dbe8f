import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { coreFiles, runConformance } from './conformance/run-conformance.js';

/**
 * The official CEL conformance suite (issue 12, item 2) against the CEL environment as the engine wires it. The data
 * is read from the npm package `@bufbuild/cel-spec` (a devDependency), never copied into the repository. Every
 * failing test must be listed in conformance/exclusions.yaml with its reason; the pass rate of the core files over
 * the tests not listed must stay at or above 99%, and the raw core rate (exclusions counted as failures) must not
 * drop below what this change measured.
 */

const exclusionsSchema = z.strictObject({
  files: z.record(z.string(), z.string().min(10)),
  tests: z.array(z.strictObject({ id: z.string(), reason: z.string().min(10) })),
});

const exclusions = exclusionsSchema.parse(
  parseYaml(readFileSync(join(import.meta.dirname, 'conformance', 'exclusions.yaml'), 'utf8')),
);
const excludedTests = new Map(exclusions.tests.map(({ id, reason }) => [id, reason]));

/**
 * Raw pass rate of the runnable core tests, raised with each group fixed (90.3%: 917 of 1,015 when the suite was
 * added; 93.8%: 952 with cel-standard.ts; 99.7%: 1,012 with the patched cel-js); it may only go up.
 */
const minimumRawCoreRate = 0.997;
const targetCoreRate = 0.99;

describe('CEL conformance (cel-spec via @bufbuild/cel-spec)', () => {
  const results = runConformance();
  const core = new Set<string>(coreFiles);
  const runnable = results.filter((result) => result.status !== 'not-runnable');
  const coreRunnable = runnable.filter((result) => core.has(result.file));
  const isExcluded = (id: string, file: string) => excludedTests.has(id) || Object.hasOwn(exclusions.files, file);
  const coreCounted = coreRunnable.filter((result) => !isExcluded(result.id, result.file));
  const rate = (list: typeof results) => list.filter((result) => result.status === 'pass').length / list.length;
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

  it('prints the pass rates', () => {
    const lines = [
      `CEL conformance: ${results.length} tests, ${runnable.length} runnable without protobuf messages`,
      `  all files, runnable: ${percent(rate(runnable))} pass`,
      `  core files (${coreFiles.join(', ')}): ${coreRunnable.length} runnable, ${percent(rate(coreRunnable))} pass`,
      `  core files without the ${coreRunnable.length - coreCounted.length} allow-listed: ${coreCounted.length} tests, ` +
        `${percent(rate(coreCounted))} pass (target ${percent(targetCoreRate)})`,
    ];
    console.log(lines.join('\n'));
    expect(runnable.length).toBeGreaterThan(1000);
  });

  it('fails no test that is not allow-listed with a reason', () => {
    const unexpected = runnable
      .filter((result) => result.status === 'fail' && !isExcluded(result.id, result.file))
      .map((result) => `${result.id}: ${result.detail}`);
    expect(unexpected).toEqual([]);
  });

  it('lists no test that passes (the allow-list only shrinks)', () => {
    const nowPassing = results.filter((result) => result.status === 'pass' && excludedTests.has(result.id));
    expect(nowPassing.map((result) => result.id)).toEqual([]);
  });

  it(`passes at least ${percent(targetCoreRate)} of the core files not allow-listed`, () => {
    expect(rate(coreCounted)).toBeGreaterThanOrEqual(targetCoreRate);
  });

  it('does not drop below the raw core rate measured with this change', () => {
    expect(rate(coreRunnable)).toBeGreaterThanOrEqual(minimumRawCoreRate);
  });

  it('lists only tests that exist', () => {
    const ids = new Set(results.map((result) => result.id));
    expect(exclusions.tests.map(({ id }) => id).filter((id) => !ids.has(id))).toEqual([]);
    const files = new Set(results.map((result) => result.file));
    expect(Object.keys(exclusions.files).filter((file) => !files.has(file))).toEqual([]);
  });
});
