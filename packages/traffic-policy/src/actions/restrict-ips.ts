import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome, type Outcome } from '../context.js';
import { compileCidrSet } from '../ip.js';
import { enforceField, respondWithError } from './shared.js';

const cidrList = z.array(z.string().min(1).max(64)).max(1000);

const configSchema = z
  .strictObject({
    allow: cidrList.optional().describe('CIDRs allowed to connect; when set, every other address is denied.'),
    deny: cidrList.optional().describe('CIDRs denied even when they are inside an allow range.'),
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
    const allow = compileCidrSet(config.allow ?? []);
    const deny = compileCidrSet(config.deny ?? []);
    allow.invalid.forEach((cidr) =>
      context.issue('POLICY_CONFIG_INVALID', `"${cidr}" is not a CIDR`, ['allow', (config.allow ?? []).indexOf(cidr)]),
    );
    deny.invalid.forEach((cidr) =>
      context.issue('POLICY_CONFIG_INVALID', `"${cidr}" is not a CIDR`, ['deny', (config.deny ?? []).indexOf(cidr)]),
    );
    const hasAllowList = (config.allow?.length ?? 0) > 0;
    return (request) => {
      const address = request.connection.clientIp;
      const deniedBy = deny.match(address);
      const allowedBy = hasAllowList ? allow.match(address) : undefined;
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
