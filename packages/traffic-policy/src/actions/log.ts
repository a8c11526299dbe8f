import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome } from '../context.js';

const configSchema = z.strictObject({
  metadata: z
    .record(z.string().min(1).max(128), z.union([z.string().max(4096), z.number(), z.boolean()]))
    .refine((metadata) => Object.keys(metadata).length >= 1 && Object.keys(metadata).length <= 32, '1 to 32 entries')
    .describe('Key/value pairs stored with the request log entry; string values allow `${}`.'),
});

export const logAction = defineAction({
  type: 'log',
  description: 'Adds metadata to the request log entry.',
  phases: ['on_tcp_connect', 'on_http_request', 'on_http_response'],
  resultName: 'log',
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    const entries = Object.entries(config.metadata).map(
      ([key, value]) => [key, typeof value === 'string' ? context.template(value, ['metadata', key]) : value] as const,
    );
    return (request) => {
      const metadata: Record<string, unknown> = {};
      // A logged secret is written as [secret]: log metadata is stored with the request log.
      for (const [key, value] of entries)
        metadata[key] = typeof value === 'object' ? request.redact(value.render(request)) : value;
      request.logs.push(metadata);
      request.actionResults.log = { metadata };
      return { outcome: continueOutcome };
    };
  },
});
