/**
 * `tsx bench/shadow-judge.ts`: the CPU a shadow policy adds to a request in process, without sockets, Redis or wrk
 * (issue 17). Per request: the seed policy's live request phase on the engine's memory ports, then — in the "shadow"
 * half — the request copy and `ShadowEvaluator.judge` of the bench's shadow (the seed with its rate limit tightened
 * to 20,000/min, so most requests differ after the first 20,000), CPU µs per request from process.cpuUsage over
 * SHADOW_JUDGE_N requests (default 20,000), the halves alternating, median of 10 rounds after 2 of warm-up.
 *
 * SHADOW_JUDGE_BUILDS=label=DIR,…: the same for other builds in the same process (DIR as made by
 * bench/build-variant.sh: DIR/apps/dataplane/dist and DIR/packages/traffic-policy/dist); each build runs on its own
 * engine. Default: this checkout's build. A machine's other load moves both halves alike; the CPU clock does not count
 * the time this process waits for a core.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const count = Number(process.env.SHADOW_JUDGE_N ?? 20_000);
const builds = (process.env.SHADOW_JUDGE_BUILDS ?? `this=${root}`).split(',').map((entry) => {
  const [label, directory] = entry.split('=');
  if (label === undefined || directory === undefined)
    throw new Error(`SHADOW_JUDGE_BUILDS: "${entry}" is not label=DIR`);
  return { label, directory };
});

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access -- each build's modules are loaded at runtime from its own dist, untyped */
async function setUp(directory: string): Promise<(withShadow: boolean) => Promise<void>> {
  const load = (path: string): Promise<any> => import(pathToFileURL(join(directory, path)).href);
  const engine = await load('packages/traffic-policy/dist/index.js');
  const testing = await load('packages/traffic-policy/dist/testing/index.js');
  const contracts = await load('packages/contracts/dist/index.js');
  const shadowModule = await load('apps/dataplane/dist/proxy/shadow-evaluation.js');
  const { headerMapOf } = await load('apps/dataplane/dist/proxy/headers.js');
  const walkthrough = readFileSync(join(root, 'packages/traffic-policy/test/fixtures/walkthrough.yaml'), 'utf8');
  const seed = walkthrough.replace('capacity: 100', 'capacity: 2000000000');
  const options = contracts.policyOptionsFor('cloud', 'https://shadow.example.com');
  const live = engine.compile(engine.parse(seed), options);
  const shadow = {
    sha256: 'a'.repeat(64),
    policy: engine.compile(engine.parse(seed.replace('capacity: 2000000000', 'capacity: 20000')), options),
  };
  const ports = {
    ...testing.createMemoryPorts({
      categories: [{ name: 'com.anthropic.api', cidrs: ['127.0.0.1/32'] }],
      internalEndpoints: ['https://mcp.example.internal'],
    }),
    clock: engine.systemClock,
  };
  const endpoint = {
    facts: { id: 'ep_shadow', url: 'https://shadow.example.com', host: 'shadow.example.com', type: 'cloud' },
    policy: live,
    shadow,
  };
  const internal = { facts: { id: 'ep_internal', url: 'https://mcp.example.internal' } };
  const rawHeaders = [
    ...['host', 'shadow.example.com', 'user-agent', 'wrk', 'authorization', 'Bearer bench-token-0123456789'],
    ...['content-type', 'application/json', 'content-length', '100'],
  ];
  const connection = { clientIp: '127.0.0.1', clientPort: 50_000, serverIp: '127.0.0.1', serverPort: 8080 };
  const evaluator = new shadowModule.ShadowEvaluator();
  return async (withShadow) => {
    // As admission builds it: the literal, then the MCP facts the body inspection adds.
    const request: Record<string, unknown> = {
      method: 'POST',
      scheme: 'http',
      host: 'shadow.example.com',
      port: '',
      path: '/mcp',
      query: '',
      headers: headerMapOf(rawHeaders),
      httpVersion: '1.1',
      receivedAtMs: Date.now(),
    };
    request.mcp = {
      kind: 'request',
      method: 'tools/call',
      tool: 'echo',
      names: 'tools',
      arguments: { text: 'hello' },
      protocolVersion: '',
      sessionId: '',
      id: 1,
    };
    const copy = withShadow ? shadowModule.copyRequestForShadow(request) : undefined;
    const context = engine.createPolicyContext({ endpoint: endpoint.facts, connection, request }, ports);
    const result = await engine.evaluate(live, 'on_http_request', context, ports);
    if (!withShadow) return;
    const decided = {
      kind: 'upstream',
      decision: result.decision,
      hops: [
        { endpoint, context },
        { endpoint: internal, context: undefined },
      ],
    };
    await evaluator.judge(shadow, endpoint, copy, connection, ports, decided);
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access */

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const runs = await Promise.all(builds.map(async (build) => ({ ...build, run: await setUp(build.directory) })));
  const results = new Map<string, number[]>();
  for (let round = 0; round < 12; round++) {
    const order = runs.flatMap((build) => [
      { build, withShadow: false },
      { build, withShadow: true },
    ]);
    if (round % 2 === 1) order.reverse();
    for (const { build, withShadow } of order) {
      const started = cpuMicros();
      for (let index = 0; index < count; index++) await build.run(withShadow);
      const key = `${build.label} ${withShadow ? 'shadow' : 'live'}`;
      if (round >= 2) results.set(key, [...(results.get(key) ?? []), (cpuMicros() - started) / count]);
    }
  }
  for (const { label } of runs) {
    const live = median(results.get(`${label} live`)!);
    const shadow = median(results.get(`${label} shadow`)!);
    console.log(
      `${label}: live request phase ${live.toFixed(2)} µs, with the shadow ${shadow.toFixed(2)} µs: ` +
        `the shadow adds ${(shadow - live).toFixed(2)} µs per request`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
