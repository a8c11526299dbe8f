import { z } from 'zod';
import { defineAction } from '../action.js';
import type { Outcome } from '../context.js';
import {
  checkBodyAllowed,
  compileHeaderTemplates,
  contentTypeOfTemplate,
  headersMapField,
  renderHeaders,
  respond,
  statusCodeField,
} from './shared.js';

const configSchema = z
  .strictObject({
    status_code: statusCodeField(403, 'HTTP status of the denial (default 403).'),
    body: z.string().max(65536).optional().describe('Response body; `${}` interpolation allowed. Empty by default.'),
    headers: headersMapField('Response headers (at most 10); values allow `${}` interpolation.').optional(),
  })
  .describe('deny config: all fields optional.');

const closeOutcome: Outcome = Object.freeze({ kind: 'close' });

export const denyAction = defineAction({
  type: 'deny',
  description: 'Ends the request with an error status (403 by default); on_tcp_connect closes the connection.',
  phases: ['on_tcp_connect', 'on_http_request'],
  configSchema,
  configRequired: false,
  alwaysTerminates: () => true,
  compile(config, context) {
    if (context.phase === 'on_tcp_connect') return () => ({ outcome: closeOutcome, detail: 'connection denied' });
    checkBodyAllowed(config.status_code, config.body, context);
    const body = config.body === undefined ? undefined : context.template(config.body, ['body']);
    const headers = compileHeaderTemplates(config.headers, context, 'headers');
    // Decided once from the template, not per request from the rendered body (see contentTypeOfTemplate).
    const contentType = contentTypeOfTemplate(config.body ?? '');
    return (request) => ({
      outcome: respond(config.status_code, body?.render(request) ?? '', renderHeaders(headers, request), contentType),
      detail: `denied with ${config.status_code}`,
    });
  },
});
