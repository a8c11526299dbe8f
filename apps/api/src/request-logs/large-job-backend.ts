// Loaded only with bullmq (request-log-ingestion-worker.ts): the embedded shape never imports this module.
import { type BackendFactory, createRedisBackend, raw2NextJobData, type RedisQueueBackend } from 'bullmq';

/**
 * BullMQ's Redis backend for queues whose jobs are large (a `request-logs` job is a batch of up to 500 events, about
 * half a megabyte of JSON), with one status check corrected.
 *
 * When a worker finishes a job it asks, in the same script call, for its next job (it does whenever it has a free
 * slot), and the script answers with that job's fields, its data among them. bullmq 6.7 (through 6.7.6) tests that
 * answer for an error status with `result < 0`; for an array, `<` first turns it into one string (Array#join),
 * copying the next job's whole data and then scanning it as a number. Measured on a 560 KB batch: 4 ms of CPU per
 * job, 10% of the ingestion worker's profile (`BENCH_CPU_PROFILE_DIR`, `npm run bench:logs -w @gatehouse/api`). The
 * status is a number whenever it is one (ioredis answers integers as numbers), so only numbers are compared; the rest
 * of `moveToFinished` is bullmq's own, through its public backend API.
 */
export const largeJobBackend: BackendFactory<RedisQueueBackend> = (name, opts, flags) => {
  const backend = createRedisBackend(name, opts, flags);
  backend.moveToFinished = async (jobId, args): Promise<unknown[]> => {
    const result: unknown = await backend.execCommand(await backend.client, 'moveToFinished', args);
    if (typeof result === 'number' && result < 0) {
      throw backend.finishedErrors({ code: result, jobId, command: 'moveToFinished', state: 'active' });
    }
    // (bullmq's own answers undefined for an undefined result, though its signature says an array.)
    if (result === undefined) return result as never;
    const next: unknown[] = raw2NextJobData(result as unknown[]);
    return next;
  };
  return backend;
};
