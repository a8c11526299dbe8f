import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What one wrk run measured; latencies in milliseconds. */
export interface WrkResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Responses with a status ≥ 400 (wrk's own count). */
  badStatus: number;
  /** Connect, read, write and timeout errors. */
  socketErrors: number;
}

/** The wrk binary, or undefined when it is not installed. */
export function findWrk(): string | undefined {
  const found = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  // `wrk -v` prints its version and usage and exits 1; a missing binary gives ENOENT.
  return found.error === undefined ? 'wrk' : undefined;
}

/**
 * A wrk script: POST of the same JSON-RPC body with the target's headers, and a `done` that prints one JSON line, so
 * nothing depends on wrk's human-readable output. With `ratePerSecond`, requests are paced on one schedule for the
 * thread (slot k at start + k/rate, read through LuaJIT's ffi from CLOCK_MONOTONIC), so the offered rate stays fixed
 * however fast the target answers.
 */
export async function writeWrkScript(
  directory: string,
  name: string,
  options: { body: string; headers: Record<string, string>; ratePerSecond?: number },
): Promise<string> {
  const lua = (text: string) => JSON.stringify(text); // a JSON string is a valid Lua string literal for this text
  const headerLines = Object.entries(options.headers)
    // wrk adds its own `Host` from the URL unless the script sets exactly that spelling.
    .map(([header, value]) => `wrk.headers[${lua(header === 'host' ? 'Host' : header)}] = ${lua(value)}`)
    .join('\n');
  const pacing =
    options.ratePerSecond === undefined
      ? ''
      : `
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } gatehouse_ts; int clock_gettime(int, gatehouse_ts*); ]]
local clock = ffi.new("gatehouse_ts")
local function now_ms()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local period_ms = ${1000 / options.ratePerSecond}
local next_slot = nil
delay = function()
  local now = now_ms()
  if next_slot == nil then next_slot = now end
  local wait = next_slot - now
  next_slot = next_slot + period_ms
  if wait < 0 then return 0 end
  return wait
end
`;
  const script = `wrk.method = "POST"
wrk.body = ${lua(options.body)}
wrk.headers["content-type"] = "application/json"
wrk.headers["accept"] = "application/json, text/event-stream"
${headerLines}
${pacing}
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format('{"wrk":true,"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"status":%d,"socket":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
`;
  const path = join(directory, `${name}.lua`);
  await writeFile(path, script);
  return path;
}

/** Runs wrk with one thread (one core for the generator, the other for the target). */
export function runWrk(options: {
  url: string;
  script: string;
  connections: number;
  durationSeconds: number;
}): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'wrk',
      [
        '-t1',
        `-c${options.connections}`,
        `-d${options.durationSeconds}s`,
        '--timeout',
        '5s',
        '-s',
        options.script,
        options.url,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = output.split('\n').find((candidate) => candidate.startsWith('{"wrk"'));
      if (code !== 0 || line === undefined) {
        reject(new Error(`wrk exited ${code}: ${output.slice(-1_000)}`));
        return;
      }
      const parsed = JSON.parse(line) as Record<string, number>;
      const seconds = parsed.duration_us! / 1e6;
      resolve({
        requests: parsed.requests!,
        requestsPerSecond: parsed.requests! / seconds,
        p50Ms: parsed.p50_us! / 1000,
        p99Ms: parsed.p99_us! / 1000,
        maxMs: parsed.max_us! / 1000,
        badStatus: parsed.status!,
        socketErrors: parsed.socket!,
      });
    });
  });
}
