/**
 * A bad environment, with every problem found (never only the first): each app's env parse throws a subclass, and
 * every entry point turns it into the same answer through `parseEnvironmentOrExit`.
 */
export class EnvironmentError extends Error {
  constructor(
    readonly problems: readonly string[],
    title = 'Invalid environment',
  ) {
    super(`${title}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'EnvironmentError';
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
