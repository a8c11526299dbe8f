/** Marks every EnvironmentError, whichever copy of this module created it (see `Symbol.hasInstance` below). */
const environmentErrorBrand = Symbol.for('@gatehouse/runtime/EnvironmentError');

/**
 * A bad environment, with every problem found (never only the first): each app's env parse throws a subclass, and
 * every entry point turns it into the same answer through `parseEnvironmentOrExit`.
 */
export class EnvironmentError extends Error {
  readonly [environmentErrorBrand] = true;

  constructor(
    readonly problems: readonly string[],
    title = 'Invalid environment',
  ) {
    super(`${title}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'EnvironmentError';
  }

  /**
   * `error instanceof EnvironmentError` holds across module copies: a CommonJS app that require()s this ES module
   * under a loader such as tsx gets a second copy of the class, and an entry point must still recognise its errors.
   * Subclasses keep the ordinary prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== EnvironmentError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && environmentErrorBrand in value;
  }
}

/** The exit code of a process that refused to start on its environment (1 stays for crashes and failed starts). */
export const invalidEnvironmentExitCode = 2;

/**
 * Runs an entry point's environment parse. A bad environment prints every problem and exits 2 — an operator's mistake
 * to fix, not a crash with a stack trace; any other error is rethrown.
 */
export function parseEnvironmentOrExit<Parsed>(parse: () => Parsed): Parsed {
  try {
    return parse();
  } catch (error) {
    if (error instanceof EnvironmentError) {
      console.error(error.message);
      process.exit(invalidEnvironmentExitCode);
    }
    throw error;
  }
}
