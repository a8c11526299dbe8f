import { z } from 'zod';
import { defineAction } from '../action.js';
import type { Outcome } from '../context.js';
import { jsonRpcErrorCodes } from '../mcp.js';
import {
  checkBodyAllowed,
  compileHeaderTemplates,
  contentTypeOfTemplate,
  formatField,
  jsonRpcErrorOutcome,
  headersMapField,
  renderHeaders,
  respond,
  statusCodeField,
} from './shared.js';

const configSchema = z
  .strictObject({
    status_code: statusCodeField(403, 'HTTP status of the denial (default 403).'),
    body: z.string().max(65536).optional().describe('Response body; `${}` interpolation allowed. Empty by default.'),
    format: formatField,
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
    return (request) => {
      const text = body?.render(request) ?? '';
      if (config.format === 'jsonrpc') {
        const message = text === '' ? 'denied by the gateway policy' : text;
        const answer = jsonRpcErrorOutcome(request, jsonRpcErrorCodes.denied, message, renderHeaders(headers, request));
        if (answer !== undefined) return { outcome: answer, detail: 'denied with a JSON-RPC error' };
      }
      return {
        outcome: respond(config.status_code, text, renderHeaders(headers, request), contentType),
        detail: `denied with ${config.status_code}`,
      };
    };
  },
});
