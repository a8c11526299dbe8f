/** Every URL of the dashboard, built in one place so links and the route table cannot drift apart. */
export const paths = {
  signIn: '/sign-in',
  setup: '/setup',
  overview: '/overview',
  endpoints: '/endpoints',
  newEndpoint: '/endpoints/new',
  endpoint: (endpointId: string) => `/endpoints/${encodeURIComponent(endpointId)}`,
  endpointPolicy: (endpointId: string) => `/endpoints/${encodeURIComponent(endpointId)}/policy`,
  endpointVersions: (endpointId: string) => `/endpoints/${encodeURIComponent(endpointId)}/versions`,
  endpointSettings: (endpointId: string) => `/endpoints/${encodeURIComponent(endpointId)}/settings`,
  endpointTraffic: (endpointId: string) => `/endpoints/${encodeURIComponent(endpointId)}/traffic`,
  requestLogs: '/request-logs',
  aiUsage: '/ai-usage',
  /** The request log with one request opened (replay examples link here). */
  requestLog: (requestId: string) => `/request-logs?request=${encodeURIComponent(requestId)}`,
  ipCategories: '/ip-categories',
  apiKeys: '/api-keys',
  authtokens: '/authtokens',
  agents: '/agents',
  vaults: '/vaults',
  users: '/users',
  dataplanes: '/data-planes',
  auditEvents: '/audit-events',
} as const;

/** Only same-app paths are followed after sign-in, never another origin. */
export function safeNextPath(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//')) return paths.overview;
  return next;
}
