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
  const logger = createLogger(env.LOG_LEVEL);
  const app = await createApp(env, logger);
  await app.listen(env.API_PORT);
  logger.info({ port: env.API_PORT }, 'control plane listening (REST under /api, Swagger UI at /api/docs)');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
