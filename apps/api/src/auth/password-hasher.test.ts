import { describe, expect, it } from 'vitest';
import { AppError } from '../common/app-error';
import { PASSWORD_HASHING_CONCURRENCY, PASSWORD_HASHING_QUEUE_LIMIT, PasswordHasher } from './password-hasher';
import { hashPassword } from './secrets';

describe('PasswordHasher', () => {
  it('runs a bounded number of hashes and refuses the rest at once with PASSWORD_HASHING_BUSY (503, retry-after)', async () => {
    const hasher = new PasswordHasher();
    const accepted = PASSWORD_HASHING_CONCURRENCY + PASSWORD_HASHING_QUEUE_LIMIT;
    const outcomes = await Promise.allSettled(
      Array.from({ length: accepted + 10 }, () => hasher.verify('some-password-123', null)),
    );
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(refused).toHaveLength(10);
    for (const outcome of refused) {
      const error = outcome.reason as AppError;
      expect(error).toBeInstanceOf(AppError);
      expect(error.code).toBe('PASSWORD_HASHING_BUSY');
      expect(error.status).toBe(503);
      expect(error.headers['retry-after']).toBe('1');
    }
    // The accepted ones ran (unknown user: the dummy hash, never a match), and the queue is free again.
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled' && outcome.value === false)).toHaveLength(
      accepted,
    );
    await expect(hasher.verify('some-password-123', null)).resolves.toBe(false);
  }, 120_000);

  it('verifies a real hash, and an unknown user never matches even with the dummy hash’s own password', async () => {
    const hasher = new PasswordHasher();
    const stored = await hashPassword('right-password-123');
    await expect(hasher.verify('right-password-123', stored)).resolves.toBe(true);
    await expect(hasher.verify('wrong-password-123', stored)).resolves.toBe(false);
    await expect(hasher.verify('', null)).resolves.toBe(false);
  }, 60_000);
});
