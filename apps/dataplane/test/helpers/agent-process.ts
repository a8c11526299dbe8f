import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built `gatehouse-agent` (apps/agent), run as its own process exactly as users run it. */
export const agentMain = fileURLToPath(new URL('../../../agent/dist/main.js', import.meta.url));

export interface AgentLogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  lines: AgentLogLine[];
  stderr: string[];
  /** Resolves with the first log line (already seen or coming) that matches. */
  waitFor(match: (line: AgentLogLine) => boolean, timeoutMs?: number, what?: string): Promise<AgentLogLine>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `nodeArgs` go to node itself (a bench's `--cpu-prof`); `main` is another build (a bench comparing two). */
export function startAgent(
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  main: string = agentMain,
): AgentProcess {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build -w @gatehouse/agent\``);
  const child = spawn(process.execPath, [...nodeArgs, main, ...args], {
    env: { ...process.env, GATEHOUSE_AGENT_LOG: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: AgentLogLine[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    let newline;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        lines.push(JSON.parse(line) as AgentLogLine);
      } catch {
        stderr.push(`(stdout, not JSON) ${line}`);
      }
      for (const wake of waiters) wake();
    }
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => stderr.push(text));
  return {
    child,
    pid: child.pid!,
    lines,
    stderr,
    waitFor(match, timeoutMs = 10_000, what = 'an agent log line') {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(match);
          if (found === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out waiting for ${what}; agent said:\n${lines.map((line) => JSON.stringify(line)).join('\n')}\n${stderr.join('')}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
        void exited.then(() => {
          if (!waiters.has(check)) return;
          waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`the agent exited while waiting for ${what}:\n${stderr.join('')}`));
        });
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
