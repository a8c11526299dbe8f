import { createIpCategoryIndex } from '../ip.js';
import {
  ManualClock,
  MemoryCircuitBreakers,
  MemoryRateLimitStore,
  OfflineIdentityProviderClient,
  policyTestSessionKeys,
  SetInternalEndpointDirectory,
  StaticJwksFetcher,
} from '../memory-ports.js';
import type { IdentityProviderClient, Jwk, PolicyPorts, SessionKeyring } from '../ports.js';

export {
  ManualClock,
  MemoryCircuitBreakers,
  MemoryRateLimitStore,
  OfflineIdentityProviderClient,
  SetInternalEndpointDirectory,
  StaticJwksFetcher,
};

export interface MemoryPortsOptions {
  categories?: readonly { name: string; cidrs: readonly string[] }[];
  internalEndpoints?: readonly string[];
  jwks?: ReadonlyMap<string, readonly Jwk[]>;
  clock?: ManualClock;
  identityProviders?: IdentityProviderClient;
  sessionKeys?: SessionKeyring;
}

/** Every port in memory, with a manual clock: the setup engine tests and golden cases run against. */
export function createMemoryPorts(
  options: MemoryPortsOptions = {},
): PolicyPorts & { clock: ManualClock; rateLimits: MemoryRateLimitStore } {
  return {
    clock: options.clock ?? new ManualClock(),
    rateLimits: new MemoryRateLimitStore(),
    ipCategories: createIpCategoryIndex(options.categories ?? []),
    jwks: new StaticJwksFetcher(options.jwks ?? new Map()),
    internalEndpoints: new SetInternalEndpointDirectory(new Set(options.internalEndpoints ?? [])),
    circuitBreakers: new MemoryCircuitBreakers(),
    identityProviders: options.identityProviders ?? new OfflineIdentityProviderClient(),
    sessionKeys: options.sessionKeys ?? policyTestSessionKeys,
  };
}
