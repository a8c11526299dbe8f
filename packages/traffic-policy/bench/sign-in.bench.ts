// What a signed-in request costs the engine: opening the sealed session cookie (HKDF key cached, JWE A256GCM) and
// setting the identity results, against the same request through a policy without the action. Prints one table.
// Run: npm run bench -w @gatehouse/traffic-policy
import { compile, createMemoryPorts, createPolicyContext, evaluate, type RequestFactsInput } from './engine.js';
import { identityIdOf, sealCookie } from '../dist/sign-in-cookies.js';

const withSignIn = compile(
  `on_http_request:
  - actions:
      - type: openid-connect
        config: { issuer_url: "https://idp.example.com", client_id: gatehouse, client_secret: s3cret }
  - expressions: ["!actions.ngrok.oidc.identity.email.endsWith('@example.com')"]
    actions: [{ type: deny }]`,
  { endpointType: 'internal' },
);
const without = compile(
  `on_http_request:
  - expressions: ["!req.headers.exists(k, k == 'x-email')"]
    actions: [{ type: deny }]`,
  { endpointType: 'internal' },
);
const ports = createMemoryPorts();
const now = ports.clock.now();
const session = await sealCookie(
  ports.sessionKeys,
  { endpointId: 'ep_bench', actionType: 'openid-connect', authId: 'oidc', purpose: 'session' },
  {
    v: 1,
    sid: 'bench-session',
    // What a session sealed at sign-in holds: the derived identity id, tokens with their expiry, the provider it came
    // from; the access token is an hour from expiry, so no refresh is due.
    identity: {
      id: await identityIdOf('https://idp.example.com', 'alice'),
      provider_user_id: 'alice',
      email: 'alice@example.com',
      name: 'Alice',
      claims: { groups: ['staff'] },
    },
    started: now,
    active: now,
    userinfo: now,
    access_token: 'x'.repeat(800),
    access_expires: now + 3_600_000,
    refresh_token: 'r'.repeat(64),
    via: 'https://idp.example.com\ngatehouse',
  },
);

function input(): RequestFactsInput {
  return {
    endpoint: { id: 'ep_bench', url: 'https://app.example.com', host: 'app.example.com', type: 'internal' },
    connection: { clientIp: '203.0.113.9', clientPort: 40000, serverIp: '127.0.0.1', serverPort: 443 },
    request: {
      method: 'GET',
      scheme: 'https',
      host: 'app.example.com',
      port: '443',
      path: '/reports',
      query: '',
      headers: new Map([
        ['cookie', [`theme=dark; gatehouse_session_oidc=${session}`]],
        ['x-email', ['alice@example.com']],
      ]),
    },
  };
}

async function measure(policy: typeof withSignIn, count: number): Promise<number> {
  const started = performance.now();
  for (let index = 0; index < count; index++) {
    const context = createPolicyContext(input(), ports);
    const { outcome } = await evaluate(policy, 'on_http_request', context, ports);
    if (outcome.kind !== 'continue') throw new Error(`the bench request was not let through: ${outcome.kind}`);
  }
  return count / ((performance.now() - started) / 1000);
}

await measure(withSignIn, 2_000);
await measure(without, 2_000);
const signedIn = await measure(withSignIn, 20_000);
const plain = await measure(without, 20_000);
console.table({
  'openid-connect, valid session cookie': {
    'evaluations/s': Math.round(signedIn),
    'µs each': +(1e6 / signedIn).toFixed(1),
  },
  'same rule without sign-in': { 'evaluations/s': Math.round(plain), 'µs each': +(1e6 / plain).toFixed(1) },
});
