import { describe, expect, it } from 'vitest';
import { ApiError, cursorOf, describeError, toApiError } from './request-client';

describe('toApiError', () => {
  it('keeps the code, message, request id and every positioned detail of an API error body', () => {
    const error = toApiError(400, {
      error_code: 'POLICY_INVALID',
      message: 'The Traffic Policy is invalid',
      details: [
        { code: 'POLICY_EXPRESSION_INVALID', message: 'bad', path: '/on_http_request/0', line: 4, column: 9 },
        { message: 'no position' },
        'not a detail',
      ],
      request_id: 'req_1',
    });
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 400,
      errorCode: 'POLICY_INVALID',
      message: 'The Traffic Policy is invalid',
      requestId: 'req_1',
    });
    expect(error.details).toEqual([
      { code: 'POLICY_EXPRESSION_INVALID', message: 'bad', path: '/on_http_request/0', line: 4, column: 9 },
      { message: 'no position' },
    ]);
  });

  it('turns bodies that are not API errors into a generic, honest message', () => {
    expect(toApiError(502, '<html>Bad gateway</html>')).toMatchObject({ errorCode: 'INTERNAL_ERROR', status: 502 });
    expect(toApiError(404, undefined).message).toBe('The request failed (HTTP 404).');
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
  it('reads the cursor of the next page, or nothing on the last page', () => {
    expect(cursorOf('/api/endpoints?type=cloud&limit=50&before_id=ep_123')).toBe('ep_123');
    expect(cursorOf('/api/endpoints/ep_1/policy-versions?limit=50&before_version=7', 'before_version')).toBe('7');
    expect(cursorOf(null)).toBeUndefined();
  });
});
