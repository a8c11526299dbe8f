// `npx tsx bench/ingestion-memory.ts` in apps/api (part of `npm run bench:logs`): what one request event
// keeps alive in the ingestion worker while it waits for its group's insert. With group commit a worker holds 16 jobs
// of up to 500 events for hundreds of milliseconds, long enough for every scavenge to copy what they keep reachable
// and promote it, so these bytes are most of the worker's garbage-collection work (issue 18: GC was a quarter of its
// CPU profile). Unlike the ingestion rate, the figure does not depend on how busy the machine is.
//
// The jobs are what BullMQ hands the worker: JSON text as stored in Redis, parsed (Job.fromJSON). They go through the
// worker's own hand-off (takeJobData), RequestLogBatchProcessor and the Postgres repository's prepareRow (no database
// is reached: nothing is inserted) to an insert that never answers, so every row stays in flight; then a full GC and
// the growth of the heap, and of memory outside it (Buffers), per event. Baselines in the same run: the job keeps its
// data (BullMQ's default), and whole rows are kept (as they are while a live tail listens).
// Environment: BENCH_REPLAY (default 1: events carry replay facts).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { requestLogBatchMaxEvents } from '@gatehouse/contracts';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import pino from 'pino';
import { PrismaService } from '../src/database/prisma.service';
import { takeJobData } from '../src/request-logs/request-log-ingestion-worker';
import { RequestLogBatchProcessor, type RequestLogWriter } from '../src/request-logs/request-log-ingestion';
import { RequestLogsRepository } from '../src/request-logs/request-logs.repository';
import { benchEvent } from './request-events';

const JOBS_IN_HAND = 16; // request-log-ingestion-worker.ts, DEFAULT_CONCURRENCY
const withReplayFacts = process.env.BENCH_REPLAY !== '0';
// Never connected: prepareRow only encodes. The pool makes it the Postgres repository (COPY), not PGlite's.
const connectionString = 'postgresql://postgres@127.0.0.1:5432/gatehouse_bench';
const repository = new RequestLogsRepository(
  new PrismaService(new PrismaPg({ connectionString })),
  new pg.Pool({ connectionString }),
);

interface Variant {
  name: string;
  takeData: boolean;
  /** Keep whole rows whatever the processor asks (as when a live tail listens). */
  keepRows: boolean;
}
const variants: Variant[] = [
  { name: 'baseline: the job keeps its data, whole rows kept', takeData: false, keepRows: true },
  {
    name: 'the job lets go of its data (takeJobData), whole rows kept (a tail listens)',
    takeData: true,
    keepRows: true,
  },
  { name: 'the job lets go of its data, rows kept as COPY text (nobody tails)', takeData: true, keepRows: false },
];

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** A full GC, and time for the backing stores of dead Buffers to be freed (V8 sweeps them off the main thread). */
async function gc(): Promise<void> {
  collect();
  await sleep(50);
  collect();
}

async function retainedPerEvent({ takeData, keepRows }: Variant): Promise<{ heap: number; external: number }> {
  const held: unknown[] = [];
  const writer: RequestLogWriter = {
    prepareRow: (row) => repository.prepareRow(row, keepRows),
    insertRequestLogs: (rows) =>
      new Promise(() => {
        held.push(rows);
      }),
  };
  const publisher = { publish: () => Promise.resolve(0), subscriberCount: () => Promise.resolve(0) };
  const processor = new RequestLogBatchProcessor(writer, publisher, pino({ level: 'silent' }), []);
  let index = 0;
  const texts = Array.from({ length: JOBS_IN_HAND }, () =>
    JSON.stringify({
      source: 'bench',
      events: Array.from({ length: requestLogBatchMaxEvents }, () => benchEvent(index++, withReplayFacts)),
    }),
  );
  const jobs: { data: unknown }[] = [];
  await gc();
  const before = process.memoryUsage();
  for (const text of texts) {
    const job = { data: JSON.parse(text) as unknown };
    jobs.push(job);
    void processor.processBatch(takeData ? takeJobData(job) : job.data);
  }
  await sleep(100);
  await gc();
  const after = process.memoryUsage();
  if (held.length === 0) throw new Error('no group reached the writer');
  // Read after the measurement so that the jobs stay reachable through it, as BullMQ keeps the jobs in hand.
  if (jobs.length !== JOBS_IN_HAND) throw new Error('a job went missing');
  return { heap: (after.heapUsed - before.heapUsed) / index, external: (after.external - before.external) / index };
}

async function main(): Promise<void> {
  // Alternating, three rounds: the figures are memory sizes, so the rounds should agree to within a few percent.
  const rows: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (const variant of variants) {
      const { heap, external } = await retainedPerEvent(variant);
      rows.push(
        `| ${variant.name} | ${Math.round(heap).toLocaleString('en')} B | ` +
          `${Math.round(external).toLocaleString('en')} B |`,
      );
    }
  }
  console.log(
    `\nIngestion worker: memory one in-flight event keeps reachable (${JOBS_IN_HAND} jobs of ` +
      `${requestLogBatchMaxEvents} events${withReplayFacts ? ', with replay facts' : ''}, after a full GC)`,
  );
  console.log('| worker | heap per event | external per event |\n|---|---:|---:|');
  for (const row of rows) console.log(row);
}

void main();
