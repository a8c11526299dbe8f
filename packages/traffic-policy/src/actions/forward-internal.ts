import { parseEndpointUrl } from '@gatehouse/contracts';
import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome } from '../context.js';
import { respondWithError } from './shared.js';

const configSchema = z.strictObject({
  url: z
    .string()
    .min(1)
    .describe('The internal endpoint to forward to, e.g. https://mcp.example.internal; `${}` allowed.'),
  on_error: z
    .enum(['halt', 'continue'])
    .default('halt')
    .describe('halt (default): answer 502 when the target does not exist; continue: go on with the next action.'),
});

/**
 * The normalized URL when `text` can be a forward-internal target, else why not. The endpoint URL rules are the API's
 * (from @gatehouse/contracts), so a target written `https://A.internal:443/` names the endpoint stored as
 * `https://a.internal`, and a target the API would never store is refused here too.
 */
export function internalTargetOf(text: string): { url: string } | { problem: string } {
  const checked = parseEndpointUrl(text, 'internal');
  return checked.ok
    ? { url: checked.value.url }
    : { problem: `"${text}" is not a forward-internal target: ${checked.problem}` };
}

export const forwardInternalAction = defineAction({
  type: 'forward-internal',
  description: 'Forwards the request to an internal endpoint, whose own policy runs next; ends the phase.',
  phases: ['on_http_request'],
  resultName: 'forward_internal',
  configSchema,
  configRequired: true,
  alwaysTerminates: (config) => config.on_error === 'halt',
  compile(config, context) {
    const target = context.template(config.url, ['url']);
    const staticTarget = target.isStatic ? internalTargetOf(target.text) : undefined;
    if (staticTarget !== undefined) {
      const checked = staticTarget;
      if ('problem' in checked) context.issue('POLICY_FORWARD_TARGET_INVALID', checked.problem, ['url']);
      else if (context.internalEndpointUrls !== undefined && !context.internalEndpointUrls.has(checked.url)) {
        context.issue(
          'POLICY_FORWARD_TARGET_UNKNOWN',
          `No internal endpoint ${checked.url} is registered yet; requests will fail with FORWARD_TARGET_OFFLINE until it is.`,
          ['url'],
          'warning',
        );
      }
    }
    return (request, ports) => {
      const rendered = target.render(request);
      const checked = staticTarget ?? internalTargetOf(rendered);
      const failure =
        'problem' in checked
          ? { code: 'FORWARD_TARGET_INVALID' as const, message: checked.problem }
          : !ports.internalEndpoints.has(checked.url)
            ? { code: 'FORWARD_TARGET_OFFLINE' as const, message: `no internal endpoint ${checked.url} is registered` }
            : ports.internalEndpoints.isOffline?.(checked.url) === true
              ? { code: 'ENDPOINT_OFFLINE' as const, message: `the agent serving ${checked.url} is not connected` }
              : undefined;
      if (failure === undefined && 'url' in checked) {
        request.actionResults.forward_internal = { url: checked.url };
        return { outcome: { kind: 'forward', url: checked.url }, detail: `forwarded to ${checked.url}` };
      }
      request.actionResults.forward_internal = { url: rendered, error: failure };
      if (config.on_error === 'continue')
        return { outcome: continueOutcome, detail: `${failure!.message}; continuing` };
      return { outcome: respondWithError(failure!.code, `Gatehouse: ${failure!.message}.`), detail: failure!.message };
    };
  },
});
