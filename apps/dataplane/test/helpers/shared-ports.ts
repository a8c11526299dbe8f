import {
  MemoryCircuitBreakers,
  MemoryRateLimitStore,
  OfflineIdentityProviderClient,
  policyTestSessionKeys,
  StaticJwksFetcher,
  systemClock,
} from '@gatehouse/traffic-policy';
import type { SharedPorts } from '../../src/config/runtime-config.js';
import { HttpSideCalls } from '../../src/ports/http-side-calls.js';
import { randomLoopId } from '../../src/proxy/loop-detection.js';

/** The ports a config build shares, in memory (no Redis, no identity provider): for tests of the config layer. */
export function memorySharedPorts(): SharedPorts {
  return {
    clock: systemClock,
    rateLimits: new MemoryRateLimitStore(),
    jwks: new StaticJwksFetcher(new Map()),
    circuitBreakers: new MemoryCircuitBreakers(),
    identityProviders: new OfflineIdentityProviderClient(),
    sessionKeys: policyTestSessionKeys,
    sideCalls: new HttpSideCalls({ loopId: randomLoopId() }),
  };
}
