import { z } from 'zod';
import { defineAction } from '../action.js';
import { PolicyRegex } from '../regex.js';
import { continueOutcome, type PolicyContext } from '../context.js';
import { compileRegex, expandNamedVariables } from './shared.js';

const configSchema = z.strictObject({
  from: z
    .string()
    .optional()
    .describe('Regular expression matched against the full URL; every match is replaced. `${}` allowed.'),
  to: z.string().describe('Replacement; `$1`… refer to groups of `from`; `${}` allowed.'),
});

export const urlRewriteAction = defineAction({
  type: 'url-rewrite',
  description: 'Rewrites the path and query sent upstream; the client sees no change.',
  phases: ['on_http_request'],
  resultName: 'url_rewrite',
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    const from = config.from === undefined ? undefined : context.template(config.from, ['from']);
    const staticPattern = from?.isStatic === true ? compileRegex(from.text) : undefined;
    if (typeof staticPattern === 'string')
      context.issue('POLICY_CONFIG_INVALID', `from is not a valid regular expression: ${staticPattern}`, ['from']);
    const to = context.template(config.to, ['to']);
    return (request) => {
      const original = request.url.toString();
      const replacement = expandNamedVariables(to.render(request), request, from !== undefined);
      let rewritten = replacement;
      if (from !== undefined) {
        const pattern = staticPattern instanceof PolicyRegex ? staticPattern : compileRegex(from.render(request));
        if (typeof pattern === 'string') {
          request.actionResults.url_rewrite = { url: original, error: { code: 'INVALID_REGEX', message: pattern } };
          return { outcome: continueOutcome, detail: 'invalid pattern after interpolation' };
        }
        rewritten = pattern.replace(original, replacement);
      }
      const applied = applyRewrite(request, rewritten);
      // The URL the upstream will see: a scheme or host in the rewritten text is not applied, so it is not reported.
      request.actionResults.url_rewrite = { url: request.url.toString() };
      return { outcome: continueOutcome, detail: applied ? `rewritten to ${request.request.path}` : 'unchanged' };
    };
  },
});

/** Only path and query travel upstream; a rewritten host or scheme is ignored (routing is by endpoint). */
function applyRewrite(context: PolicyContext, target: string): boolean {
  // The authority of an absolute result is dropped by hand, as Go's URL parser reads it: `https:///x` (a pattern that
  // matched the host, as ngrok's `${req.url.authority}/…` examples do) has an empty host and the path `/x`, where the
  // WHATWG parser would take `x` for the host.
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  const relative = authority === null ? target : target.slice(authority[0].length);
  let url: URL;
  try {
    url =
      authority !== null || relative.startsWith('/')
        ? new URL(relative.startsWith('/') ? relative : `/${relative}`, 'http://placeholder')
        : new URL(target);
  } catch {
    return false;
  }
  const path = url.pathname;
  const query = url.search.startsWith('?') ? url.search.slice(1) : url.search;
  if (path === context.request.path && query === context.request.query) return false;
  context.request.path = path;
  context.request.query = query;
  context.requestChanged();
  return true;
}
