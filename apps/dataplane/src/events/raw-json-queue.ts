import { Job, Queue } from 'bullmq';

// Kept apart from bullmq-event-sink.ts so that bullmq (with cron-parser, semver, @opentelemetry/api and its Lua
// scripts, ≈0.1 s of module loading) is imported at the sink's first send, not at every data plane start.

/** Job data that is already JSON, as UTF-8 bytes: stored as is (see RawJsonJob). */
export class RawJson {
  constructor(readonly bytes: Buffer) {}
  /** JSON.stringify of this object (bullmq's, before RawJsonJob replaces it) is a cheap `{}`. */
  toJSON(): Record<string, never> {
    return {};
  }
}

/**
 * A bullmq Job whose data may be RawJson: its bytes become the job's stored `data` instead of a serialization. bullmq
 * hands `data` to ioredis as one argument of its add-job script; as a string of half a megabyte (a batch of 500
 * events) ioredis measured its UTF-8 length three times and encoded it once more to write it, which was ~4% of a data
 * plane's CPU under load (`Buffer.byteLength` under ioredis's `Command#toWritable` in `npm run bench:profile`). A
 * Buffer is taken as it is: one copy into the command. Redis stores the same bytes, and the worker reads the same
 * string. (bullmq types `data` as the string it stringified itself; it only passes it on.)
 */
class RawJsonJob extends Job {
  override asJSON(): ReturnType<Job['asJSON']> {
    const json = super.asJSON();
    if (this.data instanceof RawJson) json.data = this.data.bytes as unknown as string;
    return json;
  }
}

/** The request-logs queue, adding RawJsonJobs (bullmq's documented extension point: `get Job`). */
export class RawJsonQueue extends Queue {
  protected override get Job(): typeof Job {
    // Job is generic over its data, name and result types; this subclass only changes asJSON.
    return RawJsonJob as unknown as typeof Job;
  }
}
