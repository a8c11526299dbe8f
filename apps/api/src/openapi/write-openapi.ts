// `npm run openapi -w @gatehouse/api`: writes apps/api/openapi.json from the route metadata (no database needed).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createApp } from '../app.factory';
import { createLogger } from '../common/logger';
import { parseEnv } from '../env';
import { buildOpenApiDocument } from './openapi';
import { serializeOpenApiDocument } from './openapi-file';

async function writeOpenApi(): Promise<void> {
  const env = parseEnv({
    DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/unused',
    REDIS_URL: 'redis://127.0.0.1:6379',
    LOG_LEVEL: 'warn',
  });
  const app = await createApp(env, createLogger(env.LOG_LEVEL));
  const target = path.resolve(__dirname, '../../openapi.json');
  writeFileSync(target, serializeOpenApiDocument(buildOpenApiDocument(app)));
  await app.close();
  console.log(`wrote ${target}`);
}

void writeOpenApi();
