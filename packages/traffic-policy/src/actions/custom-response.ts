import { z } from 'zod';
import { defineAction } from '../action.js';
import { jsonRpcErrorCodes } from '../mcp.js';
import {
  checkBodyAllowed,
  compileHeaderTemplates,
  contentTypeOfTemplate,
  formatField,
  jsonRpcErrorOutcome,
  jsonRpcResultOutcome,
  headersMapField,
  renderHeaders,
  respond,
  statusCodeField,
} from './shared.js';

const configSchema = z.strictObject({
  status_code: statusCodeField(200, 'HTTP status (default 200).'),
  body: z.string().max(1_048_576).optional().describe('Response body; `${}` interpolation allowed.'),
  content: z
    .string()
    .max(1_048_576)
    .optional()
    .describe('Legacy name of `body` (older ngrok policies use it); set one of the two.'),
  format: formatField,
  headers: headersMapField(
    'Response headers (at most 10); values allow `${}`. Without content-type the type follows the leading literal text of the body template (default text/plain).',
  ).optional(),
});

export const customResponseAction = defineAction({
  type: 'custom-response',
  description: 'Answers the request with a response written in the policy; the upstream is not called.',
  phases: ['on_http_request', 'on_http_response'],
  configSchema,
  configRequired: false,
  alwaysTerminates: () => true,
  compile(config, context) {
    if (config.body !== undefined && config.content !== undefined)
      context.issue('POLICY_CONFIG_INVALID', 'set body or its legacy name content, not both', ['content']);
    const bodyField = config.body === undefined && config.content !== undefined ? 'content' : 'body';
    const bodyText = config.body ?? config.content;
    checkBodyAllowed(config.status_code, bodyText, context);
    const body = bodyText === undefined ? undefined : context.template(bodyText, [bodyField]);
    const headers = compileHeaderTemplates(config.headers, context, 'headers');
    // Decided once from the template, not per request from the rendered body (see contentTypeOfTemplate).
    const contentType = contentTypeOfTemplate(bodyText ?? '');
    return (request) => {
      const text = body?.render(request) ?? '';
      // A success status answers the call with its body as the result text; an error status as a JSON-RPC error.
      if (config.format === 'jsonrpc') {
        const answer =
          config.status_code >= 400
            ? jsonRpcErrorOutcome(
                request,
                jsonRpcErrorCodes.denied,
                text === '' ? 'refused by the gateway policy' : text,
                renderHeaders(headers, request),
              )
            : jsonRpcResultOutcome(request, text, renderHeaders(headers, request));
        if (answer !== undefined) return { outcome: answer, detail: 'responded with a JSON-RPC message' };
      }
      return {
        outcome: respond(config.status_code, text, renderHeaders(headers, request), contentType),
        detail: `responded ${config.status_code}`,
      };
    };
  },
});
