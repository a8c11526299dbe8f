import type { RequestFacts } from '@gatehouse/traffic-policy';
import { describe, expect, it } from 'vitest';
import { RequestRecord } from './request-record.js';

const request: RequestFacts = {
  method: 'GET',
  scheme: 'http',
  host: 'api.example.com',
  port: '',
  path: '/items',
  query: 'page=2',
  headers: new Map([['user-agent', ['vitest']]]),
};

describe('RequestRecord times', () => {
  it('starts at construction when the request did not wait', () => {
    const before = Date.now();
    const event = new RequestRecord(request, '192.0.2.1').toEvent(200);
    const after = Date.now();
    expect(Date.parse(event.timestamp)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(event.timestamp)).toBeLessThanOrEqual(after);
    expect(event.duration_ms).toBeLessThan(50);
  });

  it('counts the wait of a request that waited for its turn: the row starts at arrival', () => {
    const waitedMs = 80;
    const before = Date.now();
    const record = new RequestRecord(request, '192.0.2.1', performance.now() - waitedMs);
    const after = Date.now();
    const event = record.toEvent(200);
    expect(event.duration_ms).toBeGreaterThanOrEqual(waitedMs);
    // Whole milliseconds, like every other row's timestamp, and `waitedMs` before the record was made.
    const timestamp = Date.parse(event.timestamp);
    expect(timestamp).toBeGreaterThanOrEqual(before - waitedMs - 1);
    expect(timestamp).toBeLessThanOrEqual(after - waitedMs + 1);
  });
});
