import { describe, expect, it } from 'vitest';
import { type Endpoint, EndpointSchema } from './api-schemas.js';
import { describeEndpoint } from './endpoints-commands.js';

function endpoint(overrides: Partial<Endpoint> = {}): Endpoint {
  return {
    id: 'ep_a',
    url: 'https://a.example.com',
    type: 'cloud',
    description: 'A',
    metadata: '',
    upstream_url: null,
    upstream_host_header: 'preserve',
    request_log_capture: { headers: true, bodies: false },
    traffic_policy: 'on_http_request: []\n',
    policy_version: 1,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

describe('EndpointSchema', () => {
  it('keeps request_log_capture, so --json, plan and export see it', () => {
    // zod objects drop keys they do not declare: without the field here, it would vanish from every command.
    expect(EndpointSchema.parse({ ...endpoint(), uri: '/api/endpoints/ep_a' }).request_log_capture).toEqual({
      headers: true,
      bodies: false,
    });
  });

  it('refuses a response without it rather than guessing "off"', () => {
    const { request_log_capture: _capture, ...older } = endpoint();
    expect(EndpointSchema.safeParse(older).success).toBe(false);
  });
});

describe('describeEndpoint', () => {
  it('shows the capture setting of cloud endpoints', () => {
    expect(describeEndpoint(endpoint())).toContain('log capture: headers on, bodies off');
    expect(describeEndpoint(endpoint({ request_log_capture: { headers: false, bodies: true } }))).toContain(
      'log capture: headers off, bodies on',
    );
  });

  it('leaves it out for internal endpoints, which cannot capture', () => {
    const lines = describeEndpoint(
      endpoint({
        url: 'https://a.example.internal',
        type: 'internal',
        upstream_url: 'http://127.0.0.1:3333',
        request_log_capture: { headers: false, bodies: false },
      }),
    );
    expect(lines).toContain('upstream:    http://127.0.0.1:3333 (host header: preserve)');
    expect(lines.some((line) => line.startsWith('log capture:'))).toBe(false);
  });
});
