import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome } from '../context.js';
import { headerNameSchema, maxHeadersPerAction } from './shared.js';

const configSchema = z.strictObject({
  headers: z
    .array(headerNameSchema)
    .min(1)
    .max(maxHeadersPerAction)
    .describe('Names of the headers to remove (1 to 10, case-insensitive).'),
});

export const removeHeadersAction = defineAction({
  type: 'remove-headers',
  description: 'Removes headers from the request sent upstream or from the response.',
  phases: ['on_http_request', 'on_http_response'],
  resultName: 'remove_headers',
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    const names = config.headers.map((name) => name.toLowerCase());
    const inRequest = context.phase === 'on_http_request';
    return (request) => {
      const target = inRequest ? request.request.headers : request.response?.headers;
      const removed = target === undefined ? [] : names.filter((name) => target.delete(name));
      if (inRequest) request.requestChanged();
      request.actionResults.remove_headers = { headers_removed: removed };
      return {
        outcome: continueOutcome,
        detail: removed.length === 0 ? 'nothing to remove' : `removed ${removed.join(', ')}`,
      };
    };
  },
});
