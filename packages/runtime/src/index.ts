/**
 * @gatehouse/runtime: what every Gatehouse entry point (the API, the worker, the data plane, the embedded shape's
 * composition root) does the same way around its own work. Node only — shapes shared with the browser live in
 * @gatehouse/contracts.
 */
export { EnvironmentError, invalidEnvironmentExitCode, parseEnvironmentOrExit } from './environment-error.js';
export { runUntilSignal, type LifecycleLogger, type RunUntilSignalOptions } from './run-until-signal.js';
export { createLogger } from './logger.js';
export {
  deriveDataplaneSecretsKey,
  deriveDataplaneSessionSecret,
  openFromControlPlane,
  sealForDataplanes,
  secretAad,
} from './dataplane-secrets.js';
export { fingerprintRedactedValue } from './replay-redaction.js';
