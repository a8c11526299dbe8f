import { z } from 'zod';
import { defineAction, type ActionCompileContext } from '../action.js';
import { continueOutcome, type Outcome, type PolicyContext } from '../context.js';
import { failure } from '../expression-failure.js';
import type { CompiledTemplate } from '../interpolation.js';
import { compileCidrSet, type CidrSet } from '../ip.js';
import { enforceField, respondWithError } from './shared.js';

const cidrList = z.array(z.string().min(1).max(64)).max(1000);

const configSchema = z
  .strictObject({
    allow: cidrList
      .optional()
      .describe('CIDRs allowed to connect; when set, every other address is denied. `${}` allowed in an entry.'),
    deny: cidrList
      .optional()
      .describe('CIDRs denied even when they are inside an allow range. `${}` allowed in an entry.'),
    enforce: enforceField,
  })
  .refine(
    (config) => (config.allow?.length ?? 0) + (config.deny?.length ?? 0) > 0,
    'set at least one of allow or deny',
  );

const closeOutcome: Outcome = Object.freeze({ kind: 'close' });

export const restrictIpsAction = defineAction({
  type: 'restrict-ips',
  description: 'Allows or denies the client by IP: allowed when in some allow range (if any) and in no deny range.',
  phases: ['on_tcp_connect', 'on_http_request'],
  resultName: 'restrict_ips',
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    const allow = compileList(config.allow ?? [], 'allow', context);
    const deny = compileList(config.deny ?? [], 'deny', context);
    const hasAllowList = (config.allow?.length ?? 0) > 0;
    return (request) => {
      const address = request.connection.clientIp;
      const deniedBy = deny(request).match(address);
      const allowedBy = hasAllowList ? allow(request).match(address) : undefined;
      const allowed = deniedBy === undefined && (!hasAllowList || allowedBy !== undefined);
      request.actionResults.restrict_ips = {
        action: allowed ? 'allow' : 'deny',
        matched_cidr: deniedBy ?? allowedBy ?? '',
      };
      if (allowed || !config.enforce) {
        return {
          outcome: continueOutcome,
          detail: allowed ? `${address} allowed` : `${address} would be denied (not enforced)`,
        };
      }
      const outcome =
        context.phase === 'on_tcp_connect'
          ? closeOutcome
          : respondWithError('IP_RESTRICTED', 'Gatehouse: your IP address is not allowed.');
      return { outcome, detail: `${address} denied${deniedBy === undefined ? '' : ` by ${deniedBy}`}` };
    };
  },
});

/**
 * Literal entries are parsed once; entries with `${}` (ngrok allows them, e.g. a list kept in a secret) are rendered per
 * request, and one that does not render to a CIDR or address fails the request closed (POLICY_RUNTIME_ERROR) rather
 * than silently narrowing or widening the list.
 */
function compileList(
  entries: readonly string[],
  field: 'allow' | 'deny',
  context: ActionCompileContext,
): (request: PolicyContext) => CidrSet {
  const literal = entries.filter((entry) => !entry.includes('${'));
  const set = compileCidrSet(literal);
  set.invalid.forEach((cidr) =>
    context.issue('POLICY_CONFIG_INVALID', `"${cidr}" is not a CIDR`, [field, entries.indexOf(cidr)]),
  );
  const templates: [string, CompiledTemplate][] = entries
    .map((entry, index) => [entry, index] as const)
    .filter(([entry]) => entry.includes('${'))
    .map(([entry, index]) => [entry, context.template(entry, [field, index])]);
  if (templates.length === 0) return () => set;
  return (request) => {
    const rendered = templates.flatMap(([, template]) =>
      template
        .render(request)
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== ''),
    );
    const dynamic = compileCidrSet([...literal, ...rendered]);
    const bad = dynamic.invalid[0];
    if (bad !== undefined) {
      const source = templates.map(([entry]) => entry).join(', ');
      throw failure(source, new Error(`restrict-ips ${field}: "${bad}" is not a CIDR or IP address`), request);
    }
    return dynamic;
  };
}
