import { describe, expect, expectTypeOf, it } from 'vitest';
import { sampleApiEndpoint } from '../test/helpers/sample-api-endpoint.js';
import { describeEndpoint } from './endpoints-commands.js';
import type { ManagedEndpoint as Endpoint } from './gatehouse-api.js';

function endpoint(overrides: Partial<Endpoint> = {}): Endpoint {
  return sampleApiEndpoint({
    id: 'ep_a',
    url: 'https://a.example.com',
    description: 'A',
    request_log_capture: { headers: true, bodies: false },
    ...overrides,
  });
}

describe('Endpoint (generated from openapi.json)', () => {
  // Compile-time checks (`npm run typecheck`): the answer is used as the API sends it, so nothing drops the field.
  it('has request_log_capture, so --json, plan and export see it', () => {
    expectTypeOf<Endpoint['request_log_capture']>().toEqualTypeOf<{ headers: boolean; bodies: boolean }>();
  });

  it('requires it rather than letting a reader guess "off"', () => {
    expectTypeOf<Pick<Endpoint, 'request_log_capture'>>().not.toEqualTypeOf<
      Partial<Pick<Endpoint, 'request_log_capture'>>
    >();
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
