import type { components, operations } from '@gatehouse/api-client';

// Every query key of the dashboard, one object per API resource. The .api.ts files fetch and invalidate with these
// and never import each other: a mutation of one resource that refreshes another (saving a policy version changes
// its endpoint) reaches it through this module.

export interface EndpointListFilters {
  type?: components['schemas']['Endpoint']['type'];
  /** Exact endpoint URL (the API matches it exactly). */
  url?: string;
}

export interface AuditEventFilters {
  actor?: string;
  kind?: string;
  entity_id?: string;
}

export type RequestLogFilters = Omit<
  NonNullable<operations['listRequestLogs']['parameters']['query']>,
  'limit' | 'before'
>;

export const authKeys = {
  all: ['auth'] as const,
  me: () => [...authKeys.all, 'me'] as const,
  setupStatus: () => [...authKeys.all, 'setup-status'] as const,
};

export const endpointKeys = {
  all: ['endpoints'] as const,
  /** Every page of every filtered list: each query under this prefix holds list pages, nothing else (endpoint-cache.ts). */
  lists: () => [...endpointKeys.all, 'list'] as const,
  list: (filters: EndpointListFilters) => [...endpointKeys.lists(), filters] as const,
  internalUrls: () => [...endpointKeys.all, 'internal-urls'] as const,
  details: () => [...endpointKeys.all, 'detail'] as const,
  detail: (endpointId: string) => [...endpointKeys.details(), endpointId] as const,
};

export const policyVersionKeys = {
  all: (endpointId: string) => ['policy-versions', endpointId] as const,
  list: (endpointId: string) => [...policyVersionKeys.all(endpointId), 'list'] as const,
  detail: (endpointId: string, version: number) => [...policyVersionKeys.all(endpointId), 'detail', version] as const,
  ruleStats: (endpointId: string, version: number) =>
    [...policyVersionKeys.all(endpointId), 'rule-stats', version] as const,
};

export const requestLogKeys = {
  all: ['request-logs'] as const,
  list: (filters: RequestLogFilters) => [...requestLogKeys.all, 'list', filters] as const,
  detail: (requestLogId: string) => [...requestLogKeys.all, 'detail', requestLogId] as const,
};

export const ipCategoryKeys = {
  all: ['ip-categories'] as const,
  list: () => [...ipCategoryKeys.all, 'list'] as const,
};

export const dataplaneKeys = {
  all: ['dataplanes'] as const,
  list: () => [...dataplaneKeys.all, 'list'] as const,
};

export const aiUsageKeys = {
  all: ['ai-usage'] as const,
  byDays: (days: number) => [...aiUsageKeys.all, days] as const,
};

export const auditEventKeys = {
  all: ['audit-events'] as const,
  list: (filters: AuditEventFilters) => [...auditEventKeys.all, 'list', filters] as const,
};

export const apiKeyKeys = {
  all: ['api-keys'] as const,
  list: () => [...apiKeyKeys.all, 'list'] as const,
};

export const agentSessionKeys = {
  all: ['agent-sessions'] as const,
  list: () => [...agentSessionKeys.all, 'list'] as const,
};

export const authtokenKeys = {
  all: ['authtokens'] as const,
  list: () => [...authtokenKeys.all, 'list'] as const,
};

export const vaultKeys = {
  all: ['vaults'] as const,
  list: () => [...vaultKeys.all, 'list'] as const,
};

export const userKeys = {
  all: ['users'] as const,
  list: () => [...userKeys.all, 'list'] as const,
};

export const trafficKeys = {
  all: ['traffic'] as const,
  summary: (range: string, endpointId: string | null) => [...trafficKeys.all, 'summary', range, endpointId] as const,
  endpoints: (range: string) => [...trafficKeys.all, 'endpoints', range] as const,
};
