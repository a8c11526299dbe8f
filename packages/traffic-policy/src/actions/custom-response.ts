import { z } from 'zod';
import { defineAction } from '../action.js';
import {
  checkBodyAllowed,
  compileHeaderTemplates,
  contentTypeOfTemplate,
  headersMapField,
  renderHeaders,
  respond,
  statusCodeField,
} from './shared.js';

const configSchema = z.strictObject({
  status_code: statusCodeField(200, 'HTTP status (default 200).'),
  body: z.string().max(1_048_576).optional().describe('Response body; `${}` interpolation allowed.'),
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
    checkBodyAllowed(config.status_code, config.body, context);
    const body = config.body === undefined ? undefined : context.template(config.body, ['body']);
    const headers = compileHeaderTemplates(config.headers, context, 'headers');
    // Decided once from the template, not per request from the rendered body (see contentTypeOfTemplate).
    const contentType = contentTypeOfTemplate(config.body ?? '');
    return (request) => ({
      outcome: respond(config.status_code, body?.render(request) ?? '', renderHeaders(headers, request), contentType),
      detail: `responded ${config.status_code}`,
    });
  },
});
