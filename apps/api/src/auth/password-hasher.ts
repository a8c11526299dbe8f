import { Injectable } from '@nestjs/common';
import { Sema } from 'async-sema';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from './secrets';

/**
 * At most this many scrypt computations run at once. Each holds one of libuv's four pool threads and 32 MiB for tens
 * of milliseconds; two leave the other threads (file reads for the dashboard, DNS, zlib) to everything else.
 */
export const PASSWORD_HASHING_CONCURRENCY = 2;
/** How many more may wait for a slot (a few hundred milliseconds of work); beyond that the answer is 503 at once. */
export const PASSWORD_HASHING_QUEUE_LIMIT = 16;

/**
 * Every password hash and verification of the control plane (login, setup, user creation, password change, the
 * bootstrap admin) goes through this bounded queue, so no number of concurrent requests can occupy the whole thread
 * pool: when the queue is full the request is refused with PASSWORD_HASHING_BUSY (503, retry-after) before any work.
 */
@Injectable()
export class PasswordHasher {
  private readonly slots = new Sema(PASSWORD_HASHING_CONCURRENCY);

  hash(password: string): Promise<string> {
    return this.run(() => hashPassword(password));
  }

  /**
   * Verifies `password` against `stored`, or against a dummy hash with the same parameters when there is no user, so
   * an unknown email costs exactly what a known one does (no timing oracle on which emails exist).
   */
  verify(password: string, stored: string | null): Promise<boolean> {
    return this.run(async () => {
      const valid = await verifyPassword(password, stored ?? DUMMY_PASSWORD_HASH);
      return stored !== null && valid;
    });
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.slots.nrWaiting() >= PASSWORD_HASHING_QUEUE_LIMIT) {
      throw new AppError(ErrorCode.PASSWORD_HASHING_BUSY, 'Too many password checks in progress; retry in 1 s', [], {
        'retry-after': '1',
      });
    }
    await this.slots.acquire();
    try {
      return await work();
    } finally {
      this.slots.release();
    }
  }
}
