import { parseEnv, type Env } from '@gatehouse/api/control-plane';
import { parseDataplaneEnv, type DataplaneEnv } from '@gatehouse/dataplane';
import { EnvironmentError } from '@gatehouse/runtime';

export interface EmbeddedEnvironment {
  /** The control plane's part. */
  env: Env;
  /** The data plane's part: ports, TLS, data directory, trusted proxies, timeouts. */
  dataplaneEnv: DataplaneEnv;
}

/**
 * Both halves of the embedded shape's environment, parsed by each app's own parser; every problem of both is listed
 * at once (an EnvironmentError), so one run tells an operator everything to fix.
 */
export function readEmbeddedEnvironment(source: Record<string, string | undefined>): EmbeddedEnvironment {
  const problems: string[] = [];
  let env: Env | undefined;
  let dataplaneEnv: DataplaneEnv | undefined;
  try {
    env = parseEnv(source);
  } catch (error) {
    if (!(error instanceof EnvironmentError)) throw error;
    problems.push(...error.problems);
  }
  try {
    // The token is the control plane's own (generated per boot unless set): the data plane presents it in-process.
    dataplaneEnv = parseDataplaneEnv({
      ...source,
      GATEHOUSE_DATAPLANE_TOKEN: env?.GATEHOUSE_DATAPLANE_TOKEN ?? 'unused-when-the-control-plane-env-is-invalid',
    });
  } catch (error) {
    if (!(error instanceof EnvironmentError)) throw error;
    problems.push(...error.problems);
  }
  if (env === undefined || dataplaneEnv === undefined || problems.length > 0) throw new EnvironmentError(problems);
  return { env, dataplaneEnv };
}
