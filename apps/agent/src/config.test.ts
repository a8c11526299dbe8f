import { describe, expect, it } from 'vitest';
import { formatProblem, parseAgentConfig, upstreamOrigin } from './config.js';

const good = `version: 3
agent:
  authtoken: \${GATEHOUSE_AUTHTOKEN}
  connect_url: https://gateway.example.com
endpoints:
  - name: mcp
    url: https://mcp.example.internal
    upstream: { url: 3333, protocol: http1 }
    description: laptop MCP server
    pooling_enabled: true
    traffic_policy:
      on_http_request:
        - actions:
            - type: add-headers
              config: { headers: { x-from: agent } }
  - name: api
    url: https://api.example.internal
    upstream: { url: "localhost:8081", protocol: http2 }
`;

async function problemsOf(text: string, env: Record<string, string> = {}): Promise<string[]> {
  const result = await parseAgentConfig(text, env);
  if (result.ok) throw new Error('expected problems');
  return result.problems.map((problem) => formatProblem('agent.yml', problem));
}

describe('parseAgentConfig', () => {
  it('reads the ngrok v3 shape, interpolates the environment and resolves upstreams', async () => {
    const result = await parseAgentConfig(good, { GATEHOUSE_AUTHTOKEN: 'gh_secret' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.authtoken).toBe('gh_secret');
    expect(result.config.connectUrl).toBe('https://gateway.example.com');
    expect(result.config.endpoints.map((endpoint) => [endpoint.name, endpoint.url, endpoint.upstream])).toEqual([
      ['mcp', 'https://mcp.example.internal', 'http://127.0.0.1:3333'],
      ['api', 'https://api.example.internal', 'http://localhost:8081'],
    ]);
    expect(result.config.endpoints[0]!.pooling_enabled).toBe(true);
    expect(result.config.endpoints[0]!.traffic_policy).toContain('add-headers');
    expect(result.config.endpoints[1]!.upstream_protocol).toBe('http2');
    expect(result.config.endpoints[1]!.traffic_policy).toBeNull();
  });

  it('defaults connect_url to the local embedded install', async () => {
    const result = await parseAgentConfig(
      'version: 3\nendpoints:\n  - { name: a, url: http://a.internal, upstream: { url: 80 } }\n',
      {},
    );
    expect(result.ok && result.config.connectUrl).toBe('http://127.0.0.1:8080');
  });

  it('names the line and column of an unknown field, a wrong type and a missing variable', async () => {
    const text = `version: 3
agent:
  authtoken: \${NOT_SET}
  conect_url: http://x
endpoints:
  - name: mcp
    url: https://mcp.example.internal
    upstream: { url: 3333, protcol: http1 }
    pooling_enabled: "yes"
`;
    const rest: unknown[] = [
      'agent.yml:4:3: unknown field "agent.conect_url"',
      'agent.yml:8:28: unknown field "endpoints.0.upstream.protcol"',
      expect.stringMatching(/^agent\.yml:9:22: endpoints\.0\.pooling_enabled: .*boolean/),
    ];
    expect(await problemsOf(text)).toEqual([
      'agent.yml:3:14: agent.authtoken: environment variable NOT_SET is not set',
      ...rest,
    ]);
    const problems = await problemsOf(text, { NOT_SET: 'x' });
    expect(problems).toEqual([
      'agent.yml:4:3: unknown field "agent.conect_url"',
      'agent.yml:8:28: unknown field "endpoints.0.upstream.protcol"',
      expect.stringMatching(/^agent\.yml:9:22: endpoints\.0\.pooling_enabled: .*boolean/),
    ]);
  });

  it('reports YAML syntax errors, bad URLs, duplicate names and a wrong version with positions', async () => {
    expect((await problemsOf('version: 3\nendpoints: [\n'))[0]).toMatch(/^agent\.yml:\d+:\d+: /);
    const problems = await problemsOf(`version: 2
endpoints:
  - { name: a, url: "ftp://a.internal", upstream: { url: 3333 } }
  - { name: a, url: "https://b.internal", upstream: { url: "ftp://x" } }
`);
    expect(problems[0]).toMatch(/^agent\.yml:1:10: version: version must be 3/);
    const again = await problemsOf(`version: 3
endpoints:
  - { name: a, url: "ftp://a.internal", upstream: { url: 3333 } }
  - { name: a, url: "https://b.internal", upstream: { url: "ftp://x" } }
`);
    expect(again).toEqual([
      expect.stringMatching(/^agent\.yml:3:21: url: /),
      expect.stringMatching(/^agent\.yml:4:13: endpoint name "a" is used twice/),
      expect.stringMatching(/^agent\.yml:4:60: upstream\.url: "ftp:\/\/x" uses ftp:/),
    ]);
  });

  it("runs the engine's own validation on traffic_policy, inline or as a YAML string", async () => {
    const inline = await problemsOf(`version: 3
endpoints:
  - name: a
    url: https://a.internal
    upstream: { url: 3333 }
    traffic_policy:
      on_http_request:
        - actions: [{ type: no-such-action }]
`);
    // On the offending node itself (the action's type), though the engine saw a re-serialized copy of the mapping.
    expect(inline).toEqual([expect.stringMatching(/^agent\.yml:8:29: traffic_policy: POLICY_UNKNOWN_ACTION: /)]);
    const block = await problemsOf(`version: 3
endpoints:
  - name: a
    url: https://a.internal
    upstream: { url: 3333 }
    traffic_policy: |
      on_http_request:
        - expressions: ["req.method =="]
          actions: [{ type: deny }]
`);
    expect(block).toHaveLength(1);
    expect(block[0]).toMatch(/^agent\.yml:8:\d+: traffic_policy: /);
  });

  it('lists every problem of the file in one check, whatever stage finds it', async () => {
    const problems = await problemsOf(`version: 3
agent:
  authtoken: \${NOT_SET}
  connect_url: ftp://gateway.example.com
endpoints:
  - name: a
    url: https://a.internal
    upstream: { url: 3333, protcol: http1 }
  - name: b
    url: https://b.internal
    upstream: { url: 3334 }
    traffic_policy:
      on_http_request:
        - expressions: ["req.method =="]
          actions: [{ type: deny }]
  - name: b
    url: ftp://c.internal
    upstream: { url: "ftp://x" }
  - name: d
    url: https://b.internal
    upstream: { url: 3336 }
`);
    expect(problems).toEqual([
      'agent.yml:3:14: agent.authtoken: environment variable NOT_SET is not set',
      expect.stringMatching(/^agent\.yml:4:16: agent\.connect_url "ftp:\/\/gateway\.example\.com" must be/),
      'agent.yml:8:28: unknown field "endpoints.0.upstream.protcol"',
      expect.stringMatching(/^agent\.yml:14:25: traffic_policy: POLICY_EXPRESSION_INVALID: /),
      'agent.yml:16:11: endpoint name "b" is used twice',
      expect.stringMatching(/^agent\.yml:17:10: url: /),
      expect.stringMatching(/^agent\.yml:18:22: upstream\.url: "ftp:\/\/x" uses ftp:/),
      expect.stringMatching(/^agent\.yml:20:10: url https:\/\/b\.internal is declared twice/),
    ]);
  });

  it('checks the URL and upstream of an endpoint with a refused field, and reports no field twice', async () => {
    expect(
      await problemsOf(`version: 3
endpoints:
  - name: a
    url: ftp://a.internal
    upstream: { url: "ftp://x" }
    colour: blue
  - name: b
    url: https://b.internal
    upstream: { url: 99999 }
    colour: red
  - name: c
    url: \${C_URL}
    upstream: { url: "\${C_PORT}" }
`),
    ).toEqual([
      expect.stringMatching(/^agent\.yml:4:10: url: The scheme must be http or https/),
      expect.stringMatching(/^agent\.yml:5:22: upstream\.url: "ftp:\/\/x" uses ftp:/),
      'agent.yml:6:5: unknown field "endpoints.0.colour"',
      expect.stringMatching(/^agent\.yml:9:22: endpoints\.1\.upstream\.url: Too big/),
      'agent.yml:10:5: unknown field "endpoints.1.colour"',
      'agent.yml:12:10: endpoints.2.url: environment variable C_URL is not set',
      'agent.yml:13:22: endpoints.2.upstream.url: environment variable C_PORT is not set',
    ]);
  });

  it('accepts on_tcp_connect on a public agent URL and refuses it on a .internal one', async () => {
    const config = (url: string) => `version: 3
endpoints:
  - name: a
    url: ${url}
    upstream: { url: 3333 }
    traffic_policy:
      on_tcp_connect:
        - expressions: ["conn.client_ip == '192.0.2.1'"]
          actions: [{ type: deny }]
`;
    expect((await parseAgentConfig(config('https://a.example.com'), {})).ok).toBe(true);
    const refused = await problemsOf(config('https://a.internal'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/POLICY_PHASE_NOT_ALLOWED/);
  });

  it('resolves every upstream form', () => {
    expect(upstreamOrigin(3333)).toBe('http://127.0.0.1:3333');
    expect(upstreamOrigin('3333')).toBe('http://127.0.0.1:3333');
    expect(upstreamOrigin('10.0.0.5:80')).toBe('http://10.0.0.5');
    expect(upstreamOrigin('https://svc.local:8443')).toBe('https://svc.local:8443');
    expect(JSON.stringify(upstreamOrigin('http://svc/path'))).toContain('must be an origin');
    expect(upstreamOrigin('70000')).toEqual({ problem: 'port 70000 is out of range' });
  });
});
