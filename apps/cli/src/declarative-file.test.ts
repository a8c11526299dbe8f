import { describe, expect, it } from 'vitest';
import { CliError } from './cli-errors.js';
import { type DesiredState, isCidrOrAddress, parseDeclarativeFile, type PolicyFileReader } from './declarative-file.js';

const denyPolicy = 'on_http_request:\n  - actions:\n      - type: deny\n';

function files(contents: Record<string, string>): PolicyFileReader {
  return {
    readPolicyFile: (name) => {
      const text = contents[name];
      if (text === undefined) return Promise.reject(Object.assign(new Error('missing'), { code: 'ENOENT' }));
      return Promise.resolve(text);
    },
    displayPolicyFile: (name) => `conf/${name}`,
  };
}

async function problemsOf(source: string, policyFiles: Record<string, string> = {}): Promise<readonly string[]> {
  try {
    await parseDeclarativeFile(source, 'gatehouse.yaml', files(policyFiles));
  } catch (error) {
    if (error instanceof CliError) return error.detailLines;
    throw error;
  }
  throw new Error('expected the file to be rejected');
}

function parse(source: string, policyFiles: Record<string, string> = {}): Promise<DesiredState> {
  return parseDeclarativeFile(source, 'gatehouse.yaml', files(policyFiles));
}

describe('parseDeclarativeFile: valid files', () => {
  it('normalizes URLs as the API stores them, infers types and keeps omitted fields unmanaged', async () => {
    const state = await parse(
      [
        'version: 1',
        'endpoints:',
        '  - url: https://MCP.example.internal:443/',
        '    upstream_url: http://127.0.0.1:3333/',
        '  - url: https://mcp.example.com',
        '    description: Public',
        '    policy_file: mcp.yaml',
      ].join('\n'),
      { 'mcp.yaml': denyPolicy },
    );
    expect(state.ipCategories).toBeNull();
    const [internal, cloud] = state.endpoints;
    expect(internal).toEqual({
      path: 'endpoints[0]',
      url: 'https://mcp.example.internal',
      type: 'internal',
      upstreamUrl: 'http://127.0.0.1:3333',
    });
    expect(cloud).toMatchObject({
      path: 'endpoints[1]',
      url: 'https://mcp.example.com',
      type: 'cloud',
      description: 'Public',
    });
    expect(cloud).not.toHaveProperty('metadata');
    expect(cloud?.policy?.text).toBe(denyPolicy);
    expect(cloud?.policy?.origin).toBe('conf/mcp.yaml');
    expect(cloud?.policy?.locate({ line: 2, column: 5, path: '' })).toBe('conf/mcp.yaml:2:5');
  });

  it('reads request_log_capture with only the options the file sets (the others stay unmanaged)', async () => {
    const state = await parse(
      [
        'version: 1',
        'endpoints:',
        '  - url: https://a.example.com',
        '    policy: x',
        '    request_log_capture: { headers: true }',
        '  - url: https://b.example.com',
        '    policy: x',
        '  - url: https://c.example.internal',
        '    upstream_url: http://127.0.0.1:1',
        '    request_log_capture:',
        '      headers: false',
        '      bodies: false',
      ].join('\n'),
    );
    const [a, b, c] = state.endpoints;
    expect(a?.requestLogCapture).toEqual({ headers: true });
    expect(b).not.toHaveProperty('requestLogCapture');
    expect(c?.requestLogCapture).toEqual({ headers: false, bodies: false });
  });

  it('reads IP categories (deduplicated CIDRs) and an empty list as "managed, none wanted"', async () => {
    const state = await parse(
      'version: 1\nip_categories:\n  - name: com.example.office\n    cidrs: [10.0.0.0/8, " 10.0.0.0/8"]\n',
    );
    expect(state.ipCategories).toEqual([
      { path: 'ip_categories[0]', name: 'com.example.office', cidrs: ['10.0.0.0/8'] },
    ]);
    expect(state.endpoints).toEqual([]);
    expect((await parse('version: 1\nip_categories: []\n')).ipCategories).toEqual([]);
  });

  it('maps a block-literal policy issue back to its line and column in gatehouse.yaml', async () => {
    const source = [
      'version: 1', // 1
      'endpoints:', // 2
      '  - url: https://a.example.com', // 3
      '    policy: |', // 4
      '      on_http_request:', // 5 = policy line 1
      '        - actions:', // 6 = policy line 2
      '            - type: deny', // 7 = policy line 3, column 15 in the policy is `deny`
    ].join('\n');
    const state = await parse(source);
    const policy = state.endpoints[0]?.policy;
    expect(policy?.text).toBe('on_http_request:\n  - actions:\n      - type: deny\n');
    expect(policy?.locate({ line: 3, column: 15, path: '' })).toBe('gatehouse.yaml:7:21');
  });

  it('sends a policy written as YAML re-serialized, and locates its issues by path', async () => {
    const source = [
      'version: 1',
      'endpoints:',
      '  - url: https://a.example.com',
      '    policy:',
      '      on_http_request:',
      '        - expressions: ["req.method == \'GET\'"]',
      '          actions:',
      '            - type: deny',
      '              config: { status_code: 403 }',
    ].join('\n');
    const policy = (await parse(source)).endpoints[0]?.policy;
    expect(policy?.text).toBe(
      "on_http_request:\n  - expressions:\n      - req.method == 'GET'\n    actions:\n      - type: deny\n        config:\n          status_code: 403\n",
    );
    expect(policy?.locate({ line: 7, column: 24, path: '/on_http_request/0/actions/0/config/status_code' })).toBe(
      'gatehouse.yaml:9:38',
    );
    // A path the document lacks falls back to its nearest ancestor.
    expect(policy?.locate({ line: 1, column: 1, path: '/on_http_request/0/missing' })).toBe('gatehouse.yaml:6:11');
  });
});

describe('parseDeclarativeFile: every problem with its position and field path', () => {
  it('reports unknown keys at the key, missing fields at their parent, wrong types at the value', async () => {
    expect(
      await problemsOf(
        [
          'version: 1',
          'endpoints:',
          '  - url: https://a.example.internal',
          '    upstream: http://127.0.0.1:1',
          '  - description: 5',
        ].join('\n'),
      ),
    ).toEqual([
      'gatehouse.yaml:4:5 endpoints[0].upstream: unknown key',
      'gatehouse.yaml:3:5 endpoints[0].upstream_url: required for internal endpoints (the private http(s) server they front)',
      'gatehouse.yaml:5:5 endpoints[1].url: required',
      'gatehouse.yaml:5:18 endpoints[1].description: expected string',
    ]);
  });

  it('checks the endpoint rules: URL form, type against host, upstream only for internal, a policy for cloud', async () => {
    expect(
      await problemsOf(
        [
          'version: 1',
          'endpoints:',
          '  - url: https://a.example.com/path',
          '  - url: https://b.example.com',
          '    type: internal',
          '  - url: https://c.example.com',
          '    upstream_url: http://127.0.0.1:1',
          '  - url: https://d.example.internal',
          '    upstream_url: ftp://x',
          '    policy: "x"',
          '    policy_file: p.yaml',
        ].join('\n'),
      ),
    ).toEqual([
      'gatehouse.yaml:3:10 endpoints[0].url: An endpoint URL is scheme://host[:port] only: no path, query or fragment',
      'gatehouse.yaml:5:11 endpoints[1].type: Internal endpoint hosts must end in .internal',
      'gatehouse.yaml:7:19 endpoints[2].upstream_url: only internal endpoints have an upstream; a cloud endpoint forwards with a forward-internal action',
      'gatehouse.yaml:6:5 endpoints[2].policy: a cloud endpoint needs policy or policy_file',
      'gatehouse.yaml:11:18 endpoints[3].policy_file: give policy or policy_file, not both',
      'gatehouse.yaml:9:19 endpoints[3].upstream_url: The upstream must be an http or https URL, not ftp',
    ]);
  });

  it('checks request_log_capture: booleans, known options, and no capture on internal endpoints', async () => {
    expect(
      await problemsOf(
        [
          'version: 1',
          'endpoints:',
          '  - url: https://a.example.com',
          '    policy: x',
          '    request_log_capture:',
          '      headers: yes',
          '      body: true',
          '  - url: https://b.example.internal',
          '    upstream_url: http://127.0.0.1:1',
          '    request_log_capture: { headers: false, bodies: true }',
          '  - url: https://c.example.com',
          '    policy: x',
          '    request_log_capture: true',
        ].join('\n'),
      ),
    ).toEqual([
      'gatehouse.yaml:6:16 endpoints[0].request_log_capture.headers: expected boolean',
      'gatehouse.yaml:7:7 endpoints[0].request_log_capture.body: unknown key',
      'gatehouse.yaml:10:52 endpoints[1].request_log_capture.bodies: only cloud endpoints capture (requests are logged where they arrive); turn it on for the cloud endpoint that forwards here',
      'gatehouse.yaml:13:26 endpoints[2].request_log_capture: expected object',
    ]);
  });

  it('explains what a policy may be', async () => {
    expect(await problemsOf('version: 1\nendpoints:\n  - url: https://a.example.com\n    policy: [1]\n')).toEqual([
      'gatehouse.yaml:4:13 endpoints[0].policy: expected the policy as text (e.g. a `|` block) or as a YAML mapping',
    ]);
  });

  it('finds duplicates after normalization', async () => {
    expect(
      await problemsOf(
        [
          'version: 1',
          'ip_categories:',
          '  - { name: office, cidrs: [] }',
          '  - { name: office, cidrs: [] }',
          'endpoints:',
          '  - { url: "https://a.example.com", policy: "x" }',
          '  - { url: "https://A.example.com:443", policy: "x" }',
        ].join('\n'),
      ),
    ).toEqual([
      'gatehouse.yaml:7:12 endpoints[1].url: https://a.example.com is already declared at endpoints[0]',
      'gatehouse.yaml:4:13 ip_categories[1].name: office is already declared at ip_categories[0]',
    ]);
  });

  it('checks IP category names and CIDRs', async () => {
    expect(await problemsOf('version: 1\nip_categories:\n  - name: Bad Name\n    cidrs: [10.0.0.0/33]\n')).toEqual([
      'gatehouse.yaml:3:11 ip_categories[0].name: lower-case letters, digits, ".", "_" and "-", e.g. com.example.office',
      'gatehouse.yaml:4:13 ip_categories[0].cidrs[0]: must be an IPv4 or IPv6 CIDR or address, e.g. 203.0.113.0/24',
    ]);
  });

  it('requires the format version and refuses others', async () => {
    expect(await problemsOf('endpoints: []\n')).toEqual([
      'gatehouse.yaml:1:1 version: required: the format version (1)',
    ]);
    expect(await problemsOf('version: 2\n')).toEqual([
      'gatehouse.yaml:1:10 version: unsupported format version 2; this CLI reads version 1',
    ]);
  });

  it('reports YAML syntax errors, empty files and unreadable policy files', async () => {
    expect(await problemsOf('version: 1\nversion: 1\n')).toEqual(['gatehouse.yaml:2:1 YAML: Map keys must be unique']);
    expect(await problemsOf('')).toEqual(['gatehouse.yaml:1:1 (root): the file is empty']);
    expect(
      await problemsOf('version: 1\nendpoints:\n  - url: https://a.example.com\n    policy_file: gone.yaml\n'),
    ).toEqual(['gatehouse.yaml:4:18 endpoints[0].policy_file: cannot read conf/gone.yaml (ENOENT)']);
  });
});

/** A file declaring one endpoint with what its type needs (a policy, or an upstream). */
function oneEndpoint(url: string, upstream = 'http://127.0.0.1:3333'): string {
  const needs = url.includes('.internal') ? `upstream_url: ${JSON.stringify(upstream)}` : 'policy: x';
  return `version: 1\nendpoints:\n  - url: ${JSON.stringify(url)}\n    ${needs}\n`;
}

describe('endpoint and upstream URLs, spelled as the API stores them (@gatehouse/contracts)', () => {
  it.each([
    ['https://MCP.Example.com', 'https://mcp.example.com', 'cloud'],
    ['https://mcp.example.com:443/', 'https://mcp.example.com', 'cloud'],
    ['http://mcp.example.com:80', 'http://mcp.example.com', 'cloud'],
    ['http://mcp.example.com:8080', 'http://mcp.example.com:8080', 'cloud'],
    ['https://mcp.example.internal.', 'https://mcp.example.internal', 'internal'],
    ['https://*.example.com', 'https://*.example.com', 'cloud'],
    ['  https://a.example.com  ', 'https://a.example.com', 'cloud'],
  ])('%s → %s (%s)', async (text, url, type) => {
    expect((await parse(oneEndpoint(text))).endpoints).toEqual([expect.objectContaining({ url, type })]);
  });

  it.each([
    ['mcp.example.com', 'is not a URL'],
    ['ftp://mcp.example.com', 'The scheme must be http or https, not ftp'],
    ['https://mcp.example.com/path', 'no path, query or fragment'],
    ['https://mcp.example.com/?a=1', 'no path, query or fragment'],
    ['https://user:pw@mcp.example.com', 'must not contain credentials'],
    ['https://*.example.internal', 'Internal endpoints cannot use wildcard hosts'],
    ['https://under_score.example.com', 'is not a valid host name'],
  ])('rejects %s', async (text, problem) => {
    const [line, ...others] = await problemsOf(oneEndpoint(text));
    expect(others).toEqual([]);
    expect(line).toContain('endpoints[0].url: ');
    expect(line).toContain(problem);
  });

  it('drops the lone trailing slash of an upstream as the API does, keeps paths and queries', async () => {
    const upstreamOf = async (text: string) =>
      (await parse(oneEndpoint('https://up.example.internal', text))).endpoints[0]?.upstreamUrl;
    expect(await upstreamOf('http://127.0.0.1:3333/')).toBe('http://127.0.0.1:3333');
    expect(await upstreamOf('HTTP://Upstream:80')).toBe('http://upstream');
    expect(await upstreamOf('http://upstream/mcp/')).toBe('http://upstream/mcp/');
    expect(await upstreamOf('http://upstream/?a=1')).toBe('http://upstream/?a=1');
  });

  it.each(['upstream:3333', 'ws://upstream', 'http://a:b@upstream', 'http://upstream/#x'])(
    'rejects the upstream %s as the API does',
    async (text) => {
      const problems = await problemsOf(oneEndpoint('https://up.example.internal', text));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('endpoints[0].upstream_url: ');
    },
  );
});

describe('isCidrOrAddress', () => {
  it.each(['10.0.0.0/8', '203.0.113.7', '2607:6bc0::/48', '::1', '0.0.0.0/0'])('accepts %s', (value) => {
    expect(isCidrOrAddress(value)).toBe(true);
  });
  it.each(['10.0.0.0/33', '2607:6bc0::/129', '10.0.0/8', '1.2.3.4/8/1', 'example.com', '1.2.3.4/x'])(
    'rejects %s',
    (value) => {
      expect(isCidrOrAddress(value)).toBe(false);
    },
  );
});
