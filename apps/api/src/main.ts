import { createApp } from './app.factory';
import { createLogger } from './common/logger';
import { EnvError, parseEnv } from './env';

async function main(): Promise<void> {
  let env;
  try {
    env = parseEnv(process.env);
  } catch (error) {
    if (error instanceof EnvError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  if (!env.DATABASE_URL) {
    // Only the embedded shape (`npm start`) has a database of its own; this is the distributed shape's control plane.
    console.error('The control plane needs DATABASE_URL; `npm start` runs the embedded shape on PGlite instead.');
    process.exit(2);
  }
  const logger = createLogger(env.LOG_LEVEL);
  const app = await createApp(env, logger);
  // Signals belong to the entry point: the embedded one stops its data plane before the app, so it handles them itself.
  app.enableShutdownHooks();
  await app.listen(env.API_PORT);
  logger.info({ port: env.API_PORT }, 'control plane listening (REST under /api, Swagger UI at /api/docs)');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
