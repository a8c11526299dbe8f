import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome } from '../context.js';
import { appendHeader, compileHeaderTemplates, headerNameSchema, headerValue, maxHeadersPerAction } from './shared.js';

const configSchema = z.strictObject({
  headers: z
    .record(headerNameSchema, z.string().max(8192))
    .refine((headers) => {
      const count = Object.keys(headers).length;
      return count >= 1 && count <= maxHeadersPerAction;
    }, `1 to ${maxHeadersPerAction} headers`)
    .describe(
      'Headers to add (1 to 10); values allow `${}`. Existing values are kept (appended), except `host`, which is replaced.',
    ),
});

export const addHeadersAction = defineAction({
  type: 'add-headers',
  description: 'Adds headers to the request sent upstream (request phase) or to the response (response phase).',
  phases: ['on_http_request', 'on_http_response'],
  resultName: 'add_headers',
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    const headers = compileHeaderTemplates(config.headers, context, 'headers');
    const inRequest = context.phase === 'on_http_request';
    return (request) => {
      const target = inRequest ? request.request.headers : request.response?.headers;
      const added: Record<string, string> = {};
      if (target !== undefined) {
        for (const [name, template] of headers) {
          const value = headerValue(template.render(request));
          if (name === 'host') target.set(name, [value]);
          else appendHeader(target, name, value);
          added[name] = value;
        }
        if (inRequest) request.requestChanged();
      }
      request.actionResults.add_headers = { headers_added: added };
      return { outcome: continueOutcome, detail: `added ${Object.keys(added).join(', ')}` };
    };
  },
});
