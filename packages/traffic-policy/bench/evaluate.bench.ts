// Evaluations per second of the walkthrough policy (DESIGN.md §1) through the engine, against hand-written JavaScript
// that makes the same decisions with the same ports, in the same run on the same request stream. Prints a table.
// Run: npm run bench -w @gatehouse/traffic-policy
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  compile,
  createMemoryPorts,
  createPolicyContext,
  evaluate,
  sha256Hex,
  retryAfterSeconds,
  type HeaderMap,
  type RequestFactsInput,
  benchmarkSwitches,
} from './engine.js';

const categories = [{ name: 'com.anthropic.api', cidrs: ['160.79.104.0/21', '2607:6bc0::/48'] }];
const forwardUrl = 'https://mcp.example.internal';
const text = await readFile(join(import.meta.dirname, '..', 'test', 'fixtures', 'walkthrough.yaml'), 'utf8');
const policy = compile(text, { endpointType: 'cloud' });

/** A fixed mix: mostly allowed MCP calls, some without a token, some from outside the category. */
function requestStream(count: number): RequestFactsInput[] {
  const requests: RequestFactsInput[] = [];
  for (let index = 0; index < count; index++) {
    const kind = index % 20;
    const headers: HeaderMap = new Map([
      ['content-type', ['application/json']],
      ['accept', ['application/json, text/event-stream']],
      ['user-agent', ['claude-mcp/1.0']],
    ]);
    if (kind !== 1) headers.set('authorization', [`Bearer token-${index % 5000}`]);
    requests.push({
      endpoint: { id: 'ep_bench', url: 'https://mcp.example.com', host: 'mcp.example.com', type: 'cloud' },
      connection: {
        clientIp: kind === 2 ? '198.51.100.9' : `160.79.10${4 + (index % 4)}.${index % 250}`,
        clientPort: 40000,
        serverIp: '127.0.0.1',
        serverPort: 443,
      },
      request: {
        method: 'POST',
        scheme: 'https',
        host: 'mcp.example.com',
        port: '443',
        path: '/mcp',
        query: '',
        headers,
      },
    });
  }
  return requests;
}

type Decide = (input: RequestFactsInput, ports: ReturnType<typeof createMemoryPorts>) => Promise<number>;

/** The engine: a fresh context per request, the compiled policy, the decision trace recorded as in production. */
const viaEngine: Decide = async (input, ports) => {
  const context = createPolicyContext(input, ports);
  const { outcome } = await evaluate(policy, 'on_http_request', context, ports);
  return outcome.kind === 'respond' ? outcome.response.status : 0;
};

/** The same policy written by hand, as a developer would code it without a policy engine. */
const byHand: Decide = async (input, ports) => {
  const { connection, request, endpoint } = input;
  if (!ports.ipCategories.categoriesOf(connection.clientIp).includes('com.anthropic.api')) return 403;
  const authorization = request.headers.get('authorization');
  if (authorization === undefined) return 401;
  const window = { capacity: 100, windowMs: 60_000, nowMs: ports.clock.now() };
  const key = `${endpoint.id}:per-token:${sha256Hex(`${authorization[0]}\u0000`)}`;
  const counts = await ports.rateLimits.consume(key, window);
  if (!counts.admitted) return 429 + 0 * retryAfterSeconds(counts, window);
  return ports.internalEndpoints.has(forwardUrl) ? 0 : 502;
};

async function measure(
  decide: Decide,
  requests: RequestFactsInput[],
  seconds: number,
): Promise<{ perSecond: number; checksum: number }> {
  const ports = createMemoryPorts({ categories, internalEndpoints: [forwardUrl] });
  let checksum = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    for (let index = 0; index < requests.length; index++) {
      ports.clock.advance(1);
      checksum += await decide(requests[index]!, ports);
    }
    done += requests.length;
  }
  return { perSecond: done / ((performance.now() - started) / 1000), checksum };
}

const requests = requestStream(10_000);
// Both implementations must agree on every decision before their speed means anything.
{
  const enginePorts = createMemoryPorts({ categories, internalEndpoints: [forwardUrl] });
  const handPorts = createMemoryPorts({ categories, internalEndpoints: [forwardUrl] });
  for (const input of requests.concat(requests)) {
    enginePorts.clock.advance(1);
    handPorts.clock.advance(1);
    const [a, b] = [await viaEngine(input, enginePorts), await byHand(input, handPorts)];
    if (a !== b) throw new Error(`engine and hand-written code disagree: ${a} vs ${b}`);
  }
}

await measure(viaEngine, requests, 1);
await measure(byHand, requests, 1);
const rounds = 5;
const engineRates: number[] = [];
const handRates: number[] = [];
for (let round = 0; round < rounds; round++) {
  engineRates.push((await measure(viaEngine, requests, 1)).perSecond);
  handRates.push((await measure(byHand, requests, 1)).perSecond);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const engine = median(engineRates);
const hand = median(handRates);
const format = (value: number) => Math.round(value).toLocaleString('en-US');
console.log(
  '\nWalkthrough policy, on_http_request, 10,000-request mix (90% allowed, 5% 401, 5% 403), median of 5 rounds',
);
console.table([
  {
    implementation: 'hand-written JavaScript (baseline)',
    'evaluations/s': format(hand),
    'µs/evaluation': (1e6 / hand).toFixed(2),
    ratio: '1.00',
  },
  {
    implementation: 'Gatehouse engine',
    'evaluations/s': format(engine),
    'µs/evaluation': (1e6 / engine).toFixed(2),
    ratio: (engine / hand).toFixed(2),
  },
]);
console.log(`engine / hand-written = ${(engine / hand).toFixed(2)} (target ≥ 0.50)`);

// Issue 12: the cost of RE2 (re2js) and CEL metering, as a ratio to the engine as it was (cel-js's JavaScript-RegExp
// `matches`, no metering), measured in this run. The old path is reachable only here, through `benchmarkSwitches`.
const regexHeavyPolicy = `
on_http_request:
  - expressions:
      - "req.url.path.matches('^/api/v[0-9]+/users/[0-9]+$')"
      - "req.headers['user-agent'][0].matches('^(curl|claude-mcp|Mozilla)/[0-9.]+')"
      - "!req.url.path.matches('[.](php|asp|cgi)$')"
      - "!req.headers['user-agent'][0].matches('(bot|crawler|spider|scan)')"
    actions: [{ type: custom-response, config: { status_code: 200, body: ok } }]
  - expressions: ["req.url.path.matches('^/health(z)?$')"]
    actions: [{ type: custom-response, config: { status_code: 204 } }]
  - actions: [{ type: deny, config: { status_code: 404 } }]
`;

function regexRequests(count: number): RequestFactsInput[] {
  const paths = ['/api/v1/users/42', '/api/v2/users/7/x', '/healthz', '/index.php', `/api/v1/users/${'9'.repeat(200)}`];
  return Array.from({ length: count }, (_, index) => ({
    endpoint: { id: 'ep_regex', url: 'https://api.example.com', host: 'api.example.com', type: 'cloud' as const },
    connection: { clientIp: '203.0.113.9', clientPort: 40000, serverIp: '127.0.0.1', serverPort: 443 },
    request: {
      method: 'GET',
      scheme: 'https' as const,
      host: 'api.example.com',
      port: '443',
      path: paths[index % paths.length]!,
      query: '',
      headers: new Map([['user-agent', [index % 7 === 0 ? 'evilbot/1.0' : 'claude-mcp/1.0']]]),
    },
  }));
}

function compileBoth(policyText: string) {
  benchmarkSwitches.legacyCel = true;
  const legacy = compile(policyText, { endpointType: 'cloud' });
  benchmarkSwitches.legacyCel = false;
  return { legacy, current: compile(policyText, { endpointType: 'cloud' }) };
}

function viaPolicy(compiled: ReturnType<typeof compile>): Decide {
  return async (input, ports) => {
    const context = createPolicyContext(input, ports);
    const { outcome } = await evaluate(compiled, 'on_http_request', context, ports);
    return outcome.kind === 'respond' ? outcome.response.status : 0;
  };
}

const comparisons = [
  { name: 'walkthrough (seed) policy', policies: compileBoth(text), requests },
  {
    name: 'regex-heavy policy (5 matches() per request)',
    policies: compileBoth(regexHeavyPolicy),
    requests: regexRequests(10_000),
  },
];
const rows = [];
for (const { name, policies, requests: stream } of comparisons) {
  const legacyDecide = viaPolicy(policies.legacy);
  const currentDecide = viaPolicy(policies.current);
  // Same decisions first.
  for (const input of stream.slice(0, 2000)) {
    const ports = createMemoryPorts({ categories, internalEndpoints: [forwardUrl] });
    const [a, b] = [await legacyDecide(input, ports), await currentDecide(input, ports)];
    if (a !== b) throw new Error(`${name}: old and new engine disagree: ${a} vs ${b}`);
  }
  await measure(legacyDecide, stream, 1);
  await measure(currentDecide, stream, 1);
  const legacyRates: number[] = [];
  const currentRates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    legacyRates.push((await measure(legacyDecide, stream, 1)).perSecond);
    currentRates.push((await measure(currentDecide, stream, 1)).perSecond);
  }
  const [old, now] = [median(legacyRates), median(currentRates)];
  rows.push({
    policy: name,
    'before (JS RegExp, unmetered) evals/s': format(old),
    'after (RE2, metered) evals/s': format(now),
    'after / before': (now / old).toFixed(2),
  });
}
console.log('\nCost of the CEL/RE2 change (issue 12), median of 5 rounds, same run');
console.table(rows);
