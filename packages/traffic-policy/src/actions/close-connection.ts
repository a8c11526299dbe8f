import { z } from 'zod';
import { defineAction } from '../action.js';
import type { Outcome } from '../context.js';

const closeOutcome: Outcome = Object.freeze({ kind: 'close' });

export const closeConnectionAction = defineAction({
  type: 'close-connection',
  description: 'Closes the client connection without an HTTP response.',
  phases: ['on_tcp_connect', 'on_http_request'],
  configSchema: z.strictObject({}).describe('close-connection takes no config.'),
  configRequired: false,
  alwaysTerminates: () => true,
  compile: () => () => ({ outcome: closeOutcome, detail: 'connection closed' }),
});
