import { describe, expect, it } from 'vitest';
import { EnvironmentError } from '../src/index.js';
import type * as runtime from '../src/index.js';

class ApiEnvError extends EnvironmentError {}
class DataplaneEnvError extends EnvironmentError {
  constructor(problems: readonly string[]) {
    super(problems, 'Invalid data plane environment');
  }
}

describe('EnvironmentError', () => {
  it('lists every problem under its title', () => {
    expect(new EnvironmentError(['A: bad', 'B: worse']).message).toBe('Invalid environment:\n  - A: bad\n  - B: worse');
    expect(new DataplaneEnvError(['C: missing']).message).toBe('Invalid data plane environment:\n  - C: missing');
  });

  it('is recognised across copies of this module, while subclasses keep their own prototype check', async () => {
    // A second copy of the module, as a CommonJS app loaded through another loader would get.
    const copyUrl = `${new URL('../src/environment-error.ts', import.meta.url).href}?copy`;
    const copy = (await import(/* @vite-ignore */ copyUrl)) as typeof runtime;
    expect(copy.EnvironmentError).not.toBe(EnvironmentError);
    expect(new copy.EnvironmentError(['X: bad'])).toBeInstanceOf(EnvironmentError);
    expect(new ApiEnvError(['X: bad'])).toBeInstanceOf(EnvironmentError);
    expect(new ApiEnvError(['X: bad'])).not.toBeInstanceOf(DataplaneEnvError);
    expect(new EnvironmentError(['X: bad'])).not.toBeInstanceOf(ApiEnvError);
    expect(new Error('plain')).not.toBeInstanceOf(EnvironmentError);
    expect(Object.assign(new Error('look-alike'), { problems: [] })).not.toBeInstanceOf(EnvironmentError);
  });
});
