import { z } from 'zod';
import { defineAction, type ActionCompileContext } from '../action.js';
import { PolicyRegex } from '../regex.js';
import { continueOutcome, type BodyReplacement, type Phase, type PolicyContext } from '../context.js';
import { compileRegex } from './shared.js';

/**
 * The three find-replace actions decide here (patterns compiled and interpolated per request) and the data plane
 * applies the replacements to the body or to each server-sent event.
 */

const replacement = z.strictObject({
  from: z.string().min(1).max(4096).describe('Regular expression to find; `${}` allowed.'),
  to: z.string().max(65536).default('').describe('Replacement; `$1`… refer to groups; `${}` allowed.'),
});

const sseReplacement = replacement.extend({
  field: z.enum(['data', 'retry']).default('data').describe('Which field of each event to rewrite (default data).'),
});

function compileReplacements(
  items: readonly { from: string; to: string; field?: 'data' | 'retry' }[],
  context: ActionCompileContext,
) {
  return items.map((item, index) => {
    const from = context.template(item.from, ['replacements', index, 'from']);
    const to = context.template(item.to, ['replacements', index, 'to']);
    const staticPattern = from.isStatic ? compileRegex(from.text) : undefined;
    if (typeof staticPattern === 'string') {
      context.issue('POLICY_CONFIG_INVALID', `from is not a valid regular expression: ${staticPattern}`, [
        'replacements',
        index,
        'from',
      ]);
    }
    return { from, to, staticPattern, field: item.field ?? 'data' };
  });
}

function renderReplacements(compiled: ReturnType<typeof compileReplacements>, request: PolicyContext) {
  const rendered: (BodyReplacement & { field: 'data' | 'retry' })[] = [];
  for (const item of compiled) {
    const pattern =
      item.staticPattern instanceof PolicyRegex ? item.staticPattern : compileRegex(item.from.render(request));
    if (typeof pattern === 'string') request.recordRuntimeError(item.from.text, new Error(pattern));
    else rendered.push({ from: pattern, to: item.to.render(request), field: item.field });
  }
  return rendered;
}

function defineFindReplace(
  type: string,
  phases: readonly Phase[],
  description: string,
  target: 'request' | 'response' | 'sse',
) {
  const itemSchema = target === 'sse' ? sseReplacement : replacement;
  return defineAction({
    type,
    description,
    phases,
    // No result variables: what matched is only known once the data plane applies the replacements.
    configSchema: z.strictObject({
      replacements: z.array(itemSchema).min(1).max(10).describe('Replacements applied in order (1 to 10).'),
    }),
    configRequired: true,
    needsRequestBody: () => target === 'request',
    alwaysTerminates: () => false,
    compile(config, context) {
      const compiled = compileReplacements(config.replacements, context);
      return (request) => {
        const rendered = renderReplacements(compiled, request);
        if (target === 'request') request.directives.requestBodyReplacements = rendered;
        else if (target === 'response') request.directives.responseBodyReplacements = rendered;
        else request.directives.sseReplacements = rendered;
        return { outcome: continueOutcome, detail: `${rendered.length} replacement(s) scheduled` };
      };
    },
  });
}

export const requestBodyFindReplaceAction = defineFindReplace(
  'request-body-find-replace',
  ['on_http_request'],
  'Rewrites the request body sent upstream with regular-expression replacements.',
  'request',
);
export const responseBodyFindReplaceAction = defineFindReplace(
  'response-body-find-replace',
  ['on_http_response'],
  'Rewrites the response body with regular-expression replacements.',
  'response',
);
export const sseFindReplaceAction = defineFindReplace(
  'sse-find-replace',
  // ngrok runs it in on_event_stream_message (once per event); on_http_response (once per response) is kept for the
  // policies written before that phase existed here.
  ['on_event_stream_message', 'on_http_response'],
  'Rewrites each server-sent event of a text/event-stream response as it streams.',
  'sse',
);
