import { ApiError, clientErrorCodes, cursorOf, unwrap } from '@gatehouse/api-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { jsonResponse, stubFetch } from '../test-render';
import { apiClient, describeError } from './request-client';

afterEach(() => vi.unstubAllGlobals());

/** What the dashboard's client rejects with when the one request it makes gets `answer`. */
async function failureOf(answer: () => Response | Promise<Response>): Promise<unknown> {
  const { fetchStub } = stubFetch(answer);
  vi.stubGlobal('fetch', fetchStub);
  return unwrap(apiClient.GET('/api/endpoints')).catch((error: unknown) => error);
}

describe('the request client', () => {
  it('calls the API on the page origin with the session cookie', async () => {
    const { fetchStub, requests } = stubFetch(() => jsonResponse(200, { endpoints: [], next_page_uri: null }));
    vi.stubGlobal('fetch', fetchStub);
    await expect(unwrap(apiClient.GET('/api/endpoints'))).resolves.toEqual({ endpoints: [], next_page_uri: null });
    expect(new URL(requests[0]!.url).origin).toBe(location.origin);
    expect(requests[0]!.credentials).toBe('include');
  });

  it('keeps the code, message, request id and every positioned detail of an API error body', async () => {
    const error = await failureOf(() =>
      jsonResponse(400, {
        error_code: 'POLICY_INVALID',
        message: 'The Traffic Policy is invalid',
        details: [
          { code: 'POLICY_EXPRESSION_INVALID', message: 'bad', path: '/on_http_request/0', line: 4, column: 9 },
          { message: 'no position' },
        ],
        request_id: 'req_1',
      }),
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 400,
      code: 'POLICY_INVALID',
      message: 'The Traffic Policy is invalid',
      requestId: 'req_1',
    });
    expect((error as ApiError).details).toEqual([
      { code: 'POLICY_EXPRESSION_INVALID', message: 'bad', path: '/on_http_request/0', line: 4, column: 9 },
      { message: 'no position' },
    ]);
  });

  it('turns bodies that are not API errors into a generic, honest message', async () => {
    expect(await failureOf(() => new Response('<html>Bad gateway</html>', { status: 502 }))).toMatchObject({
      code: 'INTERNAL_ERROR',
      status: 502,
    });
    const notFound = await failureOf(() => new Response(null, { status: 404 }));
    expect(describeError(notFound)).toBe('The request failed (HTTP 404).');
    // A body that looks like an error but breaks its shape is not taken for one.
    const malformed = await failureOf(() =>
      jsonResponse(400, { error_code: 'POLICY_INVALID', message: 'bad', details: ['not a detail'] }),
    );
    expect(malformed).toMatchObject({ status: 400, code: clientErrorCodes.notGatehouse });
  });

  it('says the API cannot be reached when no answer arrives', async () => {
    const error = await failureOf(() => Promise.reject(new TypeError('Failed to fetch')));
    expect(error).toMatchObject({ status: 0, code: clientErrorCodes.network });
    expect(describeError(error)).toMatch(/^The Gatehouse API cannot be reached \(GET .*Failed to fetch\)/);
  });
});

describe('describeError', () => {
  it('prefers the API message, then any error message, then a fallback', () => {
    expect(describeError(new ApiError(409, 'ENDPOINT_URL_TAKEN', 'Taken'))).toBe('Taken');
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError('???')).toBe('Something went wrong.');
  });
});

describe('cursorOf', () => {
  it('reads the cursor of the next page as the dashboard pages (before_id, before_version), or nothing on the last', () => {
    expect(cursorOf('/api/endpoints?type=cloud&limit=50&before_id=ep_123')).toBe('ep_123');
    expect(cursorOf('/api/endpoints/ep_1/policy-versions?limit=50&before_version=7', 'before_version')).toBe('7');
    expect(cursorOf(null)).toBeUndefined();
  });
});
