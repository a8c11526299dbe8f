// `npm run start -w @gatehouse/api`: the distributed shape's control plane (REST, Swagger UI, the built dashboard).
import { parseEnvironmentOrExit, runUntilSignal } from '@gatehouse/runtime';
import { createLogger } from './common/logger';
import { createControlPlane } from './control-plane';
import { parseEnv, requireSecretsKey } from './env';

const env = parseEnvironmentOrExit(() => requireSecretsKey(parseEnv(process.env)));
if (!env.DATABASE_URL) {
  // Only the embedded shape (`npm start`) has a database of its own; this is the distributed shape's control plane.
  console.error('The control plane needs DATABASE_URL; `npm start` runs the embedded shape on PGlite instead.');
  process.exit(2);
}
const logger = createLogger(env.LOG_LEVEL);
void runUntilSignal(
  async () => {
    const controlPlane = await createControlPlane(env, { logger });
    const port = await controlPlane.listen();
    logger.info({ port }, 'control plane listening (REST under /api, Swagger UI at /api/docs)');
    return controlPlane;
  },
  (controlPlane) => controlPlane.close(),
  logger,
);
