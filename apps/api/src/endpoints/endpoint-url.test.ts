import { describe, expect, it } from 'vitest';
import { AppError } from '../common/app-error';
import { requireEndpointUrl, requireUpstreamUrl } from './endpoint-url';

// The rules themselves are tested in @gatehouse/contracts; this is the mapping of their problems to the API's 400s.
describe('requireEndpointUrl', () => {
  it('answers the normalized address', () => {
    expect(requireEndpointUrl('https://Example.COM:443/', 'cloud')).toMatchObject({
      url: 'https://example.com',
      port: 443,
      proto: 'https',
    });
  });

  it('throws ENDPOINT_URL_INVALID with the problem on the url field', () => {
    const failure = (() => {
      try {
        requireEndpointUrl('https://a.internal', 'cloud');
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(AppError);
    expect(failure).toMatchObject({
      code: 'ENDPOINT_URL_INVALID',
      status: 400,
      message: 'Cloud endpoint hosts must not end in .internal',
      details: [{ path: 'url', message: 'Cloud endpoint hosts must not end in .internal' }],
    });
  });
});

describe('requireUpstreamUrl', () => {
  it('answers the stored spelling', () => {
    expect(requireUpstreamUrl('http://127.0.0.1:3333/')).toBe('http://127.0.0.1:3333');
  });

  it('throws ENDPOINT_UPSTREAM_INVALID on the upstream_url field', () => {
    expect(() => requireUpstreamUrl('file:///etc/passwd')).toThrow(AppError);
    try {
      requireUpstreamUrl('http://user:pw@host');
    } catch (error) {
      expect(error).toMatchObject({ code: 'ENDPOINT_UPSTREAM_INVALID', details: [{ path: 'upstream_url' }] });
    }
  });
});
