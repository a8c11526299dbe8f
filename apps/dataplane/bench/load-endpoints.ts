import type { SyncEndpoint } from '@gatehouse/contracts';
import { syncedEndpoint } from '../test/helpers/config-server.js';
import { walkthroughPolicy } from '../test/helpers/dataplane-harness.js';

/** How many endpoints the 10,000-endpoint benches (propagation, memory-breakdown, boot-ab) load. */
export const loadEndpointCount = 10_000;

/**
 * Endpoint `index` of those benches: a cloud endpoint on its own host with, by default, its own walkthrough-size
 * policy (a rule name makes every text distinct, so nothing is shared between endpoints that would not be in
 * production). A change passes its own `source` and `version`.
 */
export function loadEndpoint(
  index: number,
  source = walkthroughPolicy.replace('name: per-token', `name: per-token-${index}`),
  version = 1,
): SyncEndpoint {
  return syncedEndpoint({
    id: `ep_load_${index}`,
    url: `https://tenant-${index}.example.com`,
    traffic_policy: source,
    policy_version: version,
  });
}
