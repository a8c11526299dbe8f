import { z } from 'zod';
import { defineAction } from '../action.js';
import { continueOutcome } from '../context.js';

const algorithms = ['gzip', 'deflate', 'br', 'compress'] as const;
type Algorithm = (typeof algorithms)[number];

const configSchema = z.strictObject({
  algorithms: z
    .array(z.enum(algorithms))
    .min(1)
    .default([...algorithms])
    .describe('Algorithms offered, in order of preference (default gzip, deflate, br, compress — as in ngrok).'),
});

export const compressResponseAction = defineAction({
  type: 'compress-response',
  description: 'Compresses the response with the best algorithm the client accepts, unless it is already encoded.',
  phases: ['on_http_response'],
  resultName: 'compress',
  configSchema,
  configRequired: false,
  alwaysTerminates: () => false,
  compile(config) {
    // LZW cannot end a code early, so an event stream (sent event by event) is never given `compress`.
    const forStreams = config.algorithms.filter((algorithm) => algorithm !== 'compress');
    return (request) => {
      const contentType = request.response?.headers.get('content-type')?.[0] ?? '';
      const offered = contentType.startsWith('text/event-stream') ? forStreams : config.algorithms;
      const alreadyCompressed = (request.response?.headers.get('content-encoding')?.[0] ?? 'identity') !== 'identity';
      const negotiated = alreadyCompressed
        ? undefined
        : negotiate(request.requestHeader('accept-encoding') ?? [], offered);
      if (negotiated !== undefined) request.directives.compressResponse = negotiated;
      request.actionResults.compress = {
        already_compressed: alreadyCompressed,
        negotiated_algorithm: negotiated ?? '',
      };
      return {
        outcome: continueOutcome,
        detail: negotiated === undefined ? 'not compressed' : `compressing with ${negotiated}`,
      };
    };
  },
});

/** Picks the offered algorithm with the highest q-value the client accepts; ties go to the policy's order. */
export function negotiate(acceptEncoding: readonly string[], offered: readonly Algorithm[]): Algorithm | undefined {
  const weights = new Map<string, number>();
  for (const header of acceptEncoding) {
    for (const part of header.split(',')) {
      const [name, ...parameters] = part.trim().toLowerCase().split(';');
      if (name === undefined || name === '') continue;
      const q = parameters
        .map((parameter) => /^\s*q=([0-9.]+)\s*$/.exec(parameter)?.[1])
        .find((value) => value !== undefined);
      weights.set(name, q === undefined ? 1 : Number(q));
    }
  }
  let best: Algorithm | undefined;
  let bestWeight = 0;
  for (const algorithm of offered) {
    const weight = weights.get(algorithm) ?? weights.get('*') ?? 0;
    if (weight > bestWeight) {
      best = algorithm;
      bestWeight = weight;
    }
  }
  return best;
}
