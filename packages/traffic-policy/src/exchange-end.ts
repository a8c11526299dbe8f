import type { PolicyContext } from './context.js';

/**
 * Runs what the policy left for the end of the exchange (`PolicyContext.atExchangeEnd`: a `rate-limit` `cost`), once
 * the response has ended or the client has left. First `actions.ngrok.ai_gateway` gains the usage the host read from
 * the provider's answer (`input_tokens`, `output_tokens`, `total_tokens`, `cost_usd`), so a cost can read it.
 * Usage the provider did not report counts as the estimated input and no output (a stream the client left early).
 * The tasks' expressions are evaluated before this returns (a failure is on the request's runtime errors when the
 * request log is written right after); the promise settles when their port effects have (they never reject: the
 * response is gone, there is no one left to fail).
 */
export function settleExchange(context: PolicyContext): Promise<void> {
  const tasks = context.atExchangeEnd.splice(0);
  if (tasks.length === 0) return Promise.resolve();
  const record = context.aiGateway;
  const result = context.actionResults.ai_gateway;
  if (record !== undefined && result !== null && typeof result === 'object') {
    const input = record.input_tokens ?? (record.provider === null ? 0 : record.input_tokens_estimated);
    const output = record.output_tokens ?? 0;
    Object.assign(result, {
      input_tokens: BigInt(input),
      output_tokens: BigInt(output),
      total_tokens: BigInt(input + output),
      cost_usd: record.cost_usd ?? 0,
    });
  }
  const pending: Promise<void>[] = [];
  for (const task of tasks) {
    try {
      pending.push(task(context).catch(() => undefined));
    } catch {
      // A task records its own failures on the request; one that throws anyway must not stop the others.
    }
  }
  return Promise.all(pending).then(() => undefined);
}
