import { ApiError } from '@gatehouse/api-client';
import { describe, expect, it } from 'vitest';
import { placeServerError } from './use-api-form';

const fields = ['url', 'upstream_url', 'cidrs'] as const;

describe('placeServerError', () => {
  it('puts each detail on the field its path starts with, several on one field together', () => {
    const error = new ApiError(400, 'VALIDATION_FAILED', 'The request is invalid', [
      { path: 'url', message: 'bad scheme' },
      { path: 'cidrs.0', message: 'not an address' },
      { path: 'cidrs.2', message: 'not an address either' },
    ]);
    const { fieldErrors, unplaced } = placeServerError(error, {}, fields);
    expect(Object.fromEntries(fieldErrors)).toEqual({
      url: 'bad scheme',
      cidrs: 'not an address; not an address either',
    });
    expect(unplaced).toBeNull();
  });

  it('places a refusal without details by its code', () => {
    const error = new ApiError(409, 'ENDPOINT_URL_TAKEN', 'An endpoint with URL https://a.example.com already exists');
    const { fieldErrors, unplaced } = placeServerError(error, {}, fields, {
      fieldOfErrorCode: { ENDPOINT_URL_TAKEN: 'url' },
    });
    expect(fieldErrors.get('url')).toBe('An endpoint with URL https://a.example.com already exists');
    expect(unplaced).toBeNull();
  });

  it('lets a form word a detail itself', () => {
    const error = new ApiError(400, 'VALIDATION_FAILED', 'The request is invalid', [
      { path: 'cidrs.1', message: 'must be an address' },
    ]);
    const { fieldErrors } = placeServerError(error, { cidrs: ['10.0.0.1', '10.0.0.300'] }, fields, {
      placeDetail: (detail, values) => ({
        field: 'cidrs',
        message: `${values.cidrs[Number(detail.path?.split('.')[1])]}: ${detail.message}`,
      }),
    });
    expect(fieldErrors.get('cidrs')).toBe('10.0.0.300: must be an address');
  });

  it('leaves for the alert what names no field, and any failure that is not an API refusal', () => {
    const refusal = new ApiError(400, 'VALIDATION_FAILED', 'The request is invalid', [
      { path: 'url', message: 'bad scheme' },
      { path: 'metadata', message: 'too long' },
      { message: 'no path at all' },
    ]);
    const { fieldErrors, unplaced } = placeServerError(refusal, {}, fields);
    expect(fieldErrors.get('url')).toBe('bad scheme');
    expect(unplaced).toEqual({
      error: refusal,
      details: [{ path: 'metadata', message: 'too long' }, { message: 'no path at all' }],
    });

    const unreachable = new ApiError(0, 'NETWORK_ERROR', 'The Gatehouse API cannot be reached');
    expect(placeServerError(unreachable, {}, fields).unplaced).toEqual({ error: unreachable, details: [] });
    const bug = new TypeError('x is undefined');
    expect(placeServerError(bug, {}, fields)).toEqual({
      fieldErrors: new Map(),
      unplaced: { error: bug, details: [] },
    });
  });
});
