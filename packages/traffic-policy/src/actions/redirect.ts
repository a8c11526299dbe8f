import { z } from 'zod';
import { defineAction } from '../action.js';
import { PolicyRegex } from '../regex.js';
import { continueOutcome } from '../context.js';
import {
  compileHeaderTemplates,
  compileRegex,
  expandNamedVariables,
  headerValue,
  headersMapField,
  renderHeaders,
  respond,
} from './shared.js';

const configSchema = z.strictObject({
  from: z
    .string()
    .optional()
    .describe(
      'Regular expression matched (unanchored) against the full URL; `${}` allowed. Without it `to` replaces the whole URL.',
    ),
  to: z.string().min(1).describe('The redirect target; `$1`… refer to groups of `from`; `${}` allowed.'),
  status_code: z.int().min(300).max(399).default(302).describe('A 3xx status (default 302).'),
  headers: headersMapField('Extra response headers (at most 10); values allow `${}`.').optional(),
});

export const redirectAction = defineAction({
  type: 'redirect',
  description: 'Redirects the client with a 3xx and a Location built from the request URL.',
  phases: ['on_http_request'],
  resultName: 'redirect',
  configSchema,
  configRequired: true,
  // With a `from` pattern it redirects only when the pattern matches, so it cannot guarantee termination.
  alwaysTerminates: (config) => config.from === undefined,
  compile(config, context) {
    const from = config.from === undefined ? undefined : context.template(config.from, ['from']);
    const staticPattern = from?.isStatic === true ? compileRegex(from.text) : undefined;
    if (typeof staticPattern === 'string')
      context.issue('POLICY_CONFIG_INVALID', `from is not a valid regular expression: ${staticPattern}`, ['from']);
    const to = context.template(config.to, ['to']);
    const headers = compileHeaderTemplates(config.headers, context, 'headers');
    return (request) => {
      const original = request.url.toString();
      let location = expandNamedVariables(to.render(request), request, from !== undefined);
      let matches: string[] = [];
      if (from !== undefined) {
        const pattern = staticPattern instanceof PolicyRegex ? staticPattern : compileRegex(from.render(request));
        if (typeof pattern === 'string') {
          request.actionResults.redirect = {
            url: original,
            matches: [],
            error: { code: 'INVALID_REGEX', message: pattern },
          };
          return { outcome: continueOutcome, detail: 'invalid pattern after interpolation' };
        }
        const match = pattern.exec(original);
        if (match === null) {
          request.actionResults.redirect = { url: original, matches: [] };
          return { outcome: continueOutcome, detail: 'URL did not match' };
        }
        matches = [...match].map((group) => group ?? '');
        location = pattern.replace(original, location, false);
      }
      location = absoluteLocation(location, original);
      request.actionResults.redirect = { url: location, matches };
      if (location === original) return { outcome: continueOutcome, detail: 'target equals the request URL' };
      const responseHeaders = renderHeaders(headers, request);
      responseHeaders.set('location', [headerValue(location)]);
      return { outcome: respond(config.status_code, '', responseHeaders), detail: `redirected to ${location}` };
    };
  },
});

/**
 * As ngrok does: a relative target is resolved against the request URL, and the result is serialized as a URL, so
 * characters a Location cannot carry (spaces from an interpolated value) are percent-encoded. Text that is no URL at
 * all is sent as written.
 */
function absoluteLocation(location: string, requestUrl: string): string {
  try {
    return new URL(location, requestUrl).href;
  } catch {
    return location;
  }
}
