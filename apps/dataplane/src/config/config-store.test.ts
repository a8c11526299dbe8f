import type { ConfigChangeEvent, ConfigSnapshot, SyncEndpoint } from '@gatehouse/contracts';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigStore } from './config-store.js';
import { syncedEndpoint } from '../../test/helpers/config-server.js';
import { memorySharedPorts } from '../../test/helpers/shared-ports.js';

const shared = memorySharedPorts();

function endpoint(index: number, status = 403): SyncEndpoint {
  return syncedEndpoint({
    id: `ep_${index}`,
    url: `https://tenant-${index}.example.com`,
    traffic_policy: `on_http_request:\n  - actions:\n      - type: deny\n        config: { status_code: ${status} }\n`,
  });
}

const snapshot = (endpoints: SyncEndpoint[]): ConfigSnapshot => ({
  revision: 1,
  generated_at: '2026-11-24T00:00:00Z',
  endpoints,
  ip_categories: [],
});

describe('config store', () => {
  it('reports bulk work once a whole snapshot and its background compile pass are done, never after changes', async () => {
    let bulk = 0;
    const store = new ConfigStore(shared, pino({ level: 'silent' }), undefined, { onBulkWork: () => bulk++ });
    // A last-known-good boot: routing now, the policies compiled by the background pass, then one report.
    await store.loadSnapshot(snapshot([endpoint(1), endpoint(2)]), null, false);
    await store.compiled();
    expect(bulk).toBe(1);
    const changed: ConfigChangeEvent = {
      revision: 2,
      kind: 'endpoint.upserted',
      entity_id: 'ep_1',
      endpoint: endpoint(1, 404),
      ip_category: null,
      created_at: '2026-11-24T00:00:00Z',
    };
    store.applyChanges([changed]);
    expect(store.appliedRevision).toBe(2);
    expect(bulk).toBe(1);
    // A snapshot from the API while serving.
    await store.loadSnapshot({ ...snapshot([endpoint(3)]), revision: 3 }, 'etag', true);
    expect(bulk).toBe(2);
  });
});
