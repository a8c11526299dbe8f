import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { AppModule } from './app.module';
import { PinoNestLogger } from './common/logger';
import { createValidationPipe } from './common/validation';
import type { Env } from './env';
import { buildOpenApiDocument } from './openapi/openapi';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the configured control-plane app (used by main.ts, the OpenAPI writer and the tests). */
export async function createApp(env: Env, logger: Logger): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(env, logger), {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
  });
  // Client IPs (audit events, login rate limit) and `secure` cookies believe X-Forwarded-* only from trusted proxies.
  app.set('trust proxy', env.GATEHOUSE_TRUSTED_PROXIES.length > 0 ? env.GATEHOUSE_TRUSTED_PROXIES : false);
  app.disable('x-powered-by');
  app.use(
    pinoHttp({
      logger,
      genReqId: (request: IncomingMessage, response) => {
        const incoming = request.headers['x-request-id'];
        const id = typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
        response.setHeader('x-request-id', id);
        return id;
      },
      // Never log credentials.
      redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
    }),
  );
  app.useBodyParser('json', { limit: '1mb' });
  app.use(cookieParser());
  app.setGlobalPrefix('api');
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/openapi.json', raw: ['json'] });
  return app;
}
