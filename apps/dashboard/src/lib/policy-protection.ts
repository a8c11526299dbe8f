import { parse } from '@gatehouse/traffic-policy';

/** Actions that decide who may call: a version without them lets callers through that the active one stops. */
const protectiveActions: Readonly<Record<string, string>> = {
  'jwt-validation': 'JWT validation',
  'basic-auth': 'basic auth',
  oauth: 'OAuth',
  'openid-connect': 'OpenID Connect',
  'restrict-ips': 'IP restriction',
};

/** The protective action types a policy text uses (in any phase); none for a text that does not parse. */
export function protectiveActionsOf(policyText: string | null): Set<string> {
  const found = new Set<string>();
  if (!policyText) return found;
  const { document } = parse(policyText);
  if (document === null || typeof document !== 'object') return found;
  for (const rules of Object.values(document as Record<string, unknown>)) {
    if (!Array.isArray(rules)) continue;
    for (const rule of rules as unknown[]) {
      const actions = (rule as { actions?: unknown } | null)?.actions;
      if (!Array.isArray(actions)) continue;
      for (const action of actions as unknown[]) {
        const type = (action as { type?: unknown } | null)?.type;
        if (typeof type === 'string' && type in protectiveActions) found.add(type);
      }
    }
  }
  return found;
}

/**
 * What restoring `restored` over `active` would stop doing: the readable names of protective actions the active
 * policy has and the restored one lacks, in a fixed order. Empty when nothing is dropped.
 */
export function droppedProtections(active: string | null, restored: string): string[] {
  const kept = protectiveActionsOf(restored);
  const current = protectiveActionsOf(active);
  return Object.keys(protectiveActions)
    .filter((type) => current.has(type) && !kept.has(type))
    .map((type) => `${protectiveActions[type]} (${type})`);
}
