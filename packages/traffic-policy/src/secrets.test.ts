import { describe, expect, it } from 'vitest';
import {
  analyzePolicy,
  checkSecretValues,
  compile,
  createPolicyContext,
  distinctSecrets,
  evaluate,
  parse,
  type PolicyOptions,
} from './index.js';
import { createMemoryPorts } from './testing/index.js';

const basicAuth = (credential: string) => `
on_http_request:
  - actions:
      - type: basic-auth
        config: { credentials: ["${credential}"] }
`;

async function run(policyText: string, options: Partial<PolicyOptions>, headers: Record<string, string> = {}) {
  const policy = compile(policyText, { endpointType: 'internal', ...options });
  const ports = createMemoryPorts();
  const context = createPolicyContext(
    {
      endpoint: { id: 'ep_1', url: 'https://svc.internal', host: 'svc.internal', type: 'internal' },
      connection: { clientIp: '203.0.113.1', clientPort: 1, serverIp: '127.0.0.1', serverPort: 443 },
      request: {
        method: 'GET',
        scheme: 'https',
        host: 'svc.internal',
        port: '443',
        path: '/',
        query: '',
        headers: new Map(Object.entries(headers).map(([name, value]) => [name, [value]])),
      },
    },
    ports,
  );
  const result = await evaluate(policy, 'on_http_request', context, ports);
  return { result, context, policy };
}

const values = (entries: Record<string, string>) => ({
  get: (vault: string, name: string) => entries[`${vault}/${name}`],
});

describe('secrets.get', () => {
  it('reports the references a policy makes, each once', () => {
    const result = analyzePolicy(
      parse(`on_http_request:
  - expressions: ["secrets.get('a', 'x') != secrets.get('a', 'y')"]
    actions:
      - type: add-headers
        config: { headers: { h: "\${secrets.get('a', 'x')}" } }
`),
      { endpointType: 'internal' },
    );
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(result.secretReferences.map(({ vault, name, line }) => ({ vault, name, line }))).toEqual([
      { vault: 'a', name: 'x', line: 2 },
      { vault: 'a', name: 'y', line: 2 },
      { vault: 'a', name: 'x', line: 5 },
    ]);
    expect(distinctSecrets(result.secretReferences)).toEqual([
      { vault: 'a', name: 'x' },
      { vault: 'a', name: 'y' },
    ]);
  });

  it('fails the request closed when the secret is not available (compiled without values)', async () => {
    const { result, context } = await run(
      `on_http_request:
  - expressions: ["getReqHeader('k') == [secrets.get('a', 'x')]"]
    actions: [{ type: deny }]
`,
      {},
    );
    expect(result.outcome).toMatchObject({ kind: 'respond', errorCode: 'POLICY_RUNTIME_ERROR' });
    expect(context.runtimeErrors[0]?.message).toContain('secret a/x is not available');
  });

  it('keeps values out of runtime errors and traces', async () => {
    const { result, context } = await run(
      `on_http_request:
  - expressions: ["{'k': true}[secrets.get('a', 'x')]"]
    actions: [{ type: deny }]
`,
      { secrets: values({ 'a/x': 'hunter2-not-a-number' }) },
    );
    expect(result.outcome).toMatchObject({ kind: 'respond', errorCode: 'POLICY_RUNTIME_ERROR' });
    const recorded = JSON.stringify([context.runtimeErrors, context.trace]);
    expect(recorded).not.toContain('hunter2-not-a-number');
    // The error did quote the value: redaction, not luck, kept it out.
    expect(recorded).toContain('[secret]');
  });
});

describe('fields computed from secrets when the configuration is applied', () => {
  const authorization = (credential: string) => ({ authorization: `Basic ${btoa(credential)}` });
  const policyText = basicAuth("alice:${secrets.get('auth', 'alice')}");

  it('basic-auth: the secret value is the password, the written text is not', async () => {
    const secrets = values({ 'auth/alice': 'password-from-vault' });
    expect((await run(policyText, { secrets }, authorization('alice:password-from-vault'))).result.outcome.kind).toBe(
      'continue',
    );
    const literal = await run(policyText, { secrets }, authorization("alice:${secrets.get('auth', 'alice')}"));
    expect(literal.result.outcome).toMatchObject({ kind: 'respond', errorCode: 'BASIC_AUTH_FAILED' });
  });

  it('a new value replaces the old one when the policy is compiled again (rotation)', async () => {
    const rotated = values({ 'auth/alice': 'rotated-password' });
    const old = await run(policyText, { secrets: rotated }, authorization('alice:password-from-vault'));
    expect(old.result.outcome).toMatchObject({ kind: 'respond', errorCode: 'BASIC_AUTH_FAILED' });
    const fresh = await run(policyText, { secrets: rotated }, authorization('alice:rotated-password'));
    expect(fresh.result.outcome.kind).toBe('continue');
  });

  it('fails closed with SECRET_UNAVAILABLE when a secret is missing, for everyone', async () => {
    for (const credential of ['alice:anything-at-all', "alice:${secrets.get('auth', 'alice')}"]) {
      const { result } = await run(policyText, { secrets: values({}) }, authorization(credential));
      expect(result.outcome).toMatchObject({ kind: 'respond', errorCode: 'SECRET_UNAVAILABLE' });
    }
  });

  it('fails closed, without quoting it, when a value does not fit the field', async () => {
    const { result, context } = await run(policyText, { secrets: values({ 'auth/alice': 'short' }) });
    expect(result.outcome).toMatchObject({ kind: 'respond', errorCode: 'SECRET_UNAVAILABLE' });
    expect(JSON.stringify(context.trace)).not.toContain('short');
  });
});

describe('checkSecretValues (before a rotation)', () => {
  const policy = `on_http_request:
  - actions:
      - type: basic-auth
        config:
          credentials: ["alice:\${secrets.get('auth', 'alice')}", "\${json.decode(secrets.get('auth', 'bob')).line}"]
`;
  const values = (alice: string, bob: string) => ({
    get: (vault: string, name: string) =>
      vault === 'auth' ? ({ alice, bob } as Record<string, string>)[name] : undefined,
  });

  it('finds nothing when the values fit', () => {
    expect(
      checkSecretValues(policy, {
        endpointType: 'internal',
        secrets: values('long-enough-1', '{"line":"bob:password-2"}'),
      }),
    ).toEqual([]);
  });

  it('names the fields computed once that a value breaks, without the value', () => {
    const problems = checkSecretValues(policy, { endpointType: 'internal', secrets: values('short', 'not json') });
    expect(problems.map((problem) => problem.path).sort()).toEqual([
      '/on_http_request/0/actions/0/config/credentials/0',
      '/on_http_request/0/actions/0/config/credentials/1',
    ]);
    expect(JSON.stringify(problems)).not.toContain('short');
    expect(JSON.stringify(problems)).not.toContain('not json');
  });
});
