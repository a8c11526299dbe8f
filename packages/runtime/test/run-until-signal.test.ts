import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('fixtures/lifecycle-process.ts', import.meta.url));

interface Run {
  signal(name: NodeJS.Signals): void;
  /** Resolves once the output contains `text`. */
  waitFor(text: string): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function run(scenario: string): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, scenario], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
    for (const waiter of waiters.filter(({ text: wanted }) => stdout.includes(wanted))) waiter.resolve();
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stdout,
    stderr,
  }));
  return {
    signal: (name) => child.kill(name),
    waitFor: (text) =>
      stdout.includes(text)
        ? Promise.resolve()
        : Promise.race([
            new Promise<void>((resolve) => waiters.push({ text, resolve })),
            exited.then((ended) => {
              throw new Error(`exited before printing "${text}": ${JSON.stringify(ended)}`);
            }),
          ]),
    exited,
  };
}

describe('runUntilSignal', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'stops once on SIGTERM, acknowledges a second %s while draining, and exits 0',
    async (second) => {
      const process = run('clean');
      await process.waitFor('started');
      process.signal('SIGTERM');
      await process.waitFor('stop call 1');
      process.signal(second);
      const ended = await process.exited;
      expect(ended).toMatchObject({ code: 0, signal: null });
      expect(ended.stdout).toContain('"signal":"SIGTERM"');
      expect(ended.stdout).toContain('still draining');
      expect(ended.stdout).toContain('stopped');
      expect(ended.stdout).not.toContain('stop call 2');
    },
  );

  it('exits 1 at once on a third signal, without waiting for the drain', async () => {
    const process = run('slow-stop');
    await process.waitFor('started');
    process.signal('SIGINT');
    await process.waitFor('stop call 1');
    process.signal('SIGINT');
    await process.waitFor('still draining');
    process.signal('SIGINT');
    const ended = await process.exited;
    expect(ended).toMatchObject({ code: 1, signal: null });
    expect(ended.stdout).toContain('exiting before the drain finished');
    expect(ended.stdout).not.toContain('stopped');
  });

  it('stops on SIGINT too', async () => {
    const process = run('clean');
    await process.waitFor('started');
    process.signal('SIGINT');
    const ended = await process.exited;
    expect(ended.code).toBe(0);
    expect(ended.stdout).toContain('"signal":"SIGINT"');
  });

  it('exits 1 when stopping fails, saying so', async () => {
    const process = run('failing-stop');
    await process.waitFor('started');
    process.signal('SIGTERM');
    const ended = await process.exited;
    expect(ended.code).toBe(1);
    expect(ended.stdout).toContain('shutdown failed');
  });

  it('exits 1 when starting fails, with the error on stderr', async () => {
    const ended = await run('failing-start').exited;
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain('the port is taken');
    expect(ended.stdout).not.toContain('started');
  });

  it('prints the one-line explanation of a start failure when there is one', async () => {
    const ended = await run('explained-start').exited;
    expect(ended.code).toBe(1);
    expect(ended.stderr.trim()).toBe('fixture: choose another port');
  });
});

describe('parseEnvironmentOrExit', () => {
  it('prints every problem of a bad environment and exits 2 before starting anything', async () => {
    const ended = await run('bad-environment').exited;
    expect(ended.code).toBe(2);
    expect(ended.stderr).toContain('Invalid environment:\n  - PORT: must be a number\n  - TOKEN: is required');
    expect(ended.stdout).toBe('');
  });
});
