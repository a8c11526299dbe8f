import { describe, expect, it } from 'vitest';
import { SyncEndpointSchema } from '../config-sync.js';
import { RecordedRequestSchema } from '../replay.js';
import { requestEventSchema } from '../request-events.js';
import { sampleEndpoint, sampleRecordedRequest, sampleRequestEvent } from './index.js';

describe('@gatehouse/contracts/testing', () => {
  it('builds request events the worker accepts, each with its own id', () => {
    const first = sampleRequestEvent();
    const second = sampleRequestEvent({ status: 401, forwarded_to: null });
    expect(requestEventSchema.parse(first)).toMatchObject({ id: first.id, status: 200 });
    expect(requestEventSchema.parse(second)).toMatchObject({ status: 401, forwarded_to: null });
    expect(first.id).not.toBe(second.id);
    expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('builds replay facts the worker keeps, on an event too', () => {
    expect(RecordedRequestSchema.parse(sampleRecordedRequest())).toEqual(sampleRecordedRequest());
    const event = requestEventSchema.parse(sampleRequestEvent({ replay: sampleRecordedRequest({ path: '/x' }) }));
    expect(event.replay).toMatchObject({ method: 'POST', path: '/x' });
  });

  it('builds endpoints data planes accept', () => {
    expect(SyncEndpointSchema.parse(sampleEndpoint())).toEqual(sampleEndpoint());
    const internal = sampleEndpoint({
      type: 'internal',
      url: 'https://mcp.example.internal',
      upstream_url: 'http://x',
    });
    expect(SyncEndpointSchema.parse(internal)).toMatchObject({ type: 'internal', upstream_url: 'http://x' });
  });
});
