import { createIpCategoryIndex } from '../ip.js';
import {
  ManualClock,
  MemoryCircuitBreakers,
  MemoryRateLimitStore,
  OfflineIdentityProviderClient,
  policyTestSessionKeys,
  ScriptedHttpRequester,
  SetInternalEndpointDirectory,
  StaticIpIntelligence,
  StaticJwksFetcher,
} from '../memory-ports.js';
import type { IpIntelligenceRecord } from '../cel-values.js';
import type { IdentityProviderClient, Jwk, PolicyPorts, SessionKeyring, SideCallResult } from '../ports.js';

export {
  ManualClock,
  MemoryCircuitBreakers,
  MemoryRateLimitStore,
  OfflineIdentityProviderClient,
  ScriptedHttpRequester,
  SetInternalEndpointDirectory,
  StaticIpIntelligence,
  StaticJwksFetcher,
};

export interface MemoryPortsOptions {
  categories?: readonly { name: string; cidrs: readonly string[] }[];
  internalEndpoints?: readonly string[];
  jwks?: ReadonlyMap<string, readonly Jwk[]>;
  clock?: ManualClock;
  identityProviders?: IdentityProviderClient;
  sessionKeys?: SessionKeyring;
  /** Scripted http-request results by URL (see ScriptedHttpRequester). */
  sideCalls?: ReadonlyMap<string, SideCallResult>;
  /** Geo/AS records by address (`conn.geo.*`, `conn.client_ip.as.*`); without it every field reads empty. */
  ipIntelligence?: ReadonlyMap<string, IpIntelligenceRecord>;
}

/** Every port in memory, with a manual clock: the setup engine tests and golden cases run against. */
export function createMemoryPorts(
  options: MemoryPortsOptions = {},
): PolicyPorts & { clock: ManualClock; rateLimits: MemoryRateLimitStore; httpRequests: ScriptedHttpRequester } {
  return {
    clock: options.clock ?? new ManualClock(),
    rateLimits: new MemoryRateLimitStore(),
    ipCategories: createIpCategoryIndex(options.categories ?? []),
    jwks: new StaticJwksFetcher(options.jwks ?? new Map()),
    internalEndpoints: new SetInternalEndpointDirectory(new Set(options.internalEndpoints ?? [])),
    circuitBreakers: new MemoryCircuitBreakers(),
    identityProviders: options.identityProviders ?? new OfflineIdentityProviderClient(),
    sessionKeys: options.sessionKeys ?? policyTestSessionKeys,
    httpRequests: new ScriptedHttpRequester(options.sideCalls),
    ...(options.ipIntelligence === undefined
      ? {}
      : { ipIntelligence: new StaticIpIntelligence(options.ipIntelligence) }),
  };
}
