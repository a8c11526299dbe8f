import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome } from '../context.js';

/**
 * ngrok actions Gatehouse recognizes but does not run. Naming them keeps the error precise ("not supported" instead of
 * "unknown action").
 */
function defineUnsupported(type: string, description: string) {
  return defineAction({
    type,
    description: `${description} Not supported by Gatehouse yet.`,
    phases: ['on_http_request', 'on_http_response'],
    supported: false,
    configSchema: z.record(z.string(), z.unknown()).describe('Accepted for compatibility; the action cannot run.'),
    configRequired: false,
    alwaysTerminates: () => false,
    compile: () => () => ({ outcome: continueOutcome }),
  });
}

export const unsupportedActions = [
  defineUnsupported('terminate-tls', 'TLS termination settings.'),
  defineUnsupported('owasp-crs-request', 'OWASP Core Rule Set on requests.'),
  defineUnsupported('owasp-crs-response', 'OWASP Core Rule Set on responses.'),
];
