import { dataplaneOptionsFromEnv } from '@gatehouse/dataplane';
import { describe, expect, it } from 'vitest';
import { readEmbeddedEnvironment } from './environment.js';

describe('the embedded environment', () => {
  it('binds the data plane admin port (/status, /metrics) to loopback unless an operator opens it', async () => {
    // Issue 12, item 13: it used to follow DATAPLANE_HOST (0.0.0.0), telling endpoint counts and errors to the network.
    const { dataplaneEnv } = readEmbeddedEnvironment({ LOG_LEVEL: 'silent' });
    expect(dataplaneEnv.DATAPLANE_HOST).toBe('0.0.0.0');
    expect(dataplaneEnv.DATAPLANE_ADMIN_HOST).toBe('127.0.0.1');
    const options = await dataplaneOptionsFromEnv(dataplaneEnv, { configApi: {} as never });
    expect(options.adminHost).toBe('127.0.0.1');
    const opened = readEmbeddedEnvironment({ LOG_LEVEL: 'silent', DATAPLANE_ADMIN_HOST: '0.0.0.0' });
    expect(opened.dataplaneEnv.DATAPLANE_ADMIN_HOST).toBe('0.0.0.0');
  });
});
