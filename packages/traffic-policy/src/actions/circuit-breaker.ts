import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome } from '../context.js';
import { parseDuration } from '../duration.js';
import { enforceField, respondWithError } from './shared.js';

const durationBetween = (minMs: number, maxMs: number, fallback: string, description: string) =>
  z
    .string()
    .refine(
      (text) => {
        const ms = parseDuration(text);
        return ms !== undefined && ms >= minMs && ms <= maxMs;
      },
      `a duration from ${minMs / 1000}s to ${maxMs / 60_000}m`,
    )
    .default(fallback)
    .describe(description);

const configSchema = z.strictObject({
  error_threshold: z
    .number()
    .min(0)
    .max(1)
    .default(0.5)
    .describe('Share of failed upstream responses (5xx or no answer) that opens the breaker (default 0.5).'),
  volume_threshold: z
    .int()
    .min(1)
    .max(2_000_000_000)
    .default(10)
    .describe('Requests needed in the window before the breaker may open (default 10).'),
  window_duration: durationBetween(
    1000,
    120_000,
    '10s',
    'Window over which errors are counted (1s to 2m, default 10s).',
  ),
  tripped_duration: durationBetween(1000, 120_000, '10s', 'How long the breaker stays open (1s to 2m, default 10s).'),
  // ngrok documents the field as fixed at 10; written policies carry it, so it is accepted with that one value.
  num_buckets: z
    .literal(10)
    .optional()
    .describe('Buckets the window is divided into; fixed at 10, as in ngrok (accepted for compatibility).'),
  enforce: enforceField,
});

export const circuitBreakerAction = defineAction({
  type: 'circuit-breaker',
  description: 'Rejects requests with 503 while the upstream fails too often, giving it time to recover.',
  phases: ['on_http_request'],
  resultName: 'circuit_breaker',
  configSchema,
  configRequired: false,
  alwaysTerminates: () => false,
  compile(config, context) {
    const settings = {
      errorThreshold: config.error_threshold,
      volumeThreshold: config.volume_threshold,
      windowMs: parseDuration(config.window_duration) ?? 10_000,
      trippedMs: parseDuration(config.tripped_duration) ?? 10_000,
    };
    return (request, ports) => {
      const key = `${request.endpoint.id}:${context.actionId}`;
      const open = ports.circuitBreakers.isOpen(key, settings, ports.clock.now());
      request.actionResults.circuit_breaker = { open };
      if (!open) {
        (request.directives.circuitBreakerKeys ??= []).push(key);
        return { outcome: continueOutcome, detail: 'closed' };
      }
      if (!config.enforce) return { outcome: continueOutcome, detail: 'open (not enforced)' };
      return {
        outcome: respondWithError('CIRCUIT_BREAKER_OPEN', 'Gatehouse: the upstream is failing; try again shortly.'),
        detail: 'open',
      };
    };
  },
});
