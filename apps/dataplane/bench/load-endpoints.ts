import type { SyncEndpoint } from '@gatehouse/contracts';
import { policySha256 } from '../test/helpers/config-server.js';
import { walkthroughPolicy } from '../test/helpers/dataplane-harness.js';

/** How many endpoints the 10,000-endpoint benches (propagation, memory-breakdown, boot-ab) load. */
export const loadEndpointCount = 10_000;

/**
 * Endpoint `index` of those benches: a cloud endpoint on its own host, with its own walkthrough-size policy (a rule
 * name makes every text distinct, so nothing is shared between endpoints that would not be in production).
 */
export function loadEndpoint(index: number, version = 1): SyncEndpoint {
  const source = walkthroughPolicy.replace('name: per-token', `name: per-token-${index}`);
  return {
    id: `ep_load_${index}`,
    url: `https://tenant-${index}.example.com`,
    type: 'cloud',
    proto: 'https',
    host: `tenant-${index}.example.com`,
    port: 443,
    upstream_url: null,
    upstream_host_header: 'preserve',
    request_log_capture: { headers: false, bodies: false },
    policy_rejected: null,
    agent: null,
    shadow_policy: null,
    policy: { version, sha256: policySha256(source), source },
  };
}
