import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { dashboardContentSecurityPolicyDirectives } from '@gatehouse/contracts';
import cookieParser from 'cookie-parser';
import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { AppModule, type Infrastructure } from './app.module';
import { PinoNestLogger } from './common/logger';
import { createValidationPipe } from './common/validation';
import type { Env } from './env';
import { buildOpenApiDocument } from './openapi/openapi';

/** apps/api/dist → apps/dashboard/dist in the repository layout (and in the Docker image, which copies both). */
const defaultDashboardDirectory = join(__dirname, '..', '..', 'dashboard', 'dist');

/**
 * Serves the built dashboard at `/` with index.html for every other non-API GET, so links into the single-page app
 * work on reload. Assets are public by design: the data they show comes from /api, which the guard protects.
 */
function serveDashboard(app: NestExpressApplication, directory: string): void {
  const index = join(directory, 'index.html');
  if (!existsSync(index)) return;
  app.useStaticAssets(directory, {
    index: false,
    maxAge: '1h',
    setHeaders: (response: ServerResponse, path: string) => {
      // Vite fingerprints assets; index.html must never be cached or users keep a stale app after an upgrade.
      if (path.endsWith('.html')) response.setHeader('cache-control', 'no-cache');
    },
  });
  app.use((request: Request, response: Response, next: NextFunction) => {
    const isPageRequest = request.method === 'GET' || request.method === 'HEAD';
    if (!isPageRequest || request.path === '/api' || request.path.startsWith('/api/')) {
      next();
      return;
    }
    response.setHeader('cache-control', 'no-cache');
    response.sendFile(index);
  });
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/** One year, the usual preload-list minimum; sent only on a request that arrived over TLS. */
const HSTS_HEADER = 'max-age=31536000; includeSubDomains';

/**
 * Browser hardening on every response (helmet): the dashboard's CSP (one definition with `vite preview`, in
 * @gatehouse/contracts) with `frame-ancestors 'none'`, X-Content-Type-Options nosniff, Referrer-Policy no-referrer,
 * X-Frame-Options DENY for old browsers, and Cross-Origin-Opener/Resource-Policy same-origin. HSTS only when the request
 * came over TLS (`request.secure`: directly, or X-Forwarded-Proto https from a trusted proxy): on plain HTTP it would
 * be ignored, and on a LAN address it must never pin the browser to an HTTPS that does not exist.
 */
function useSecurityHeaders(app: NestExpressApplication): void {
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: Object.fromEntries(
          Object.entries(dashboardContentSecurityPolicyDirectives).map(([name, sources]) => [name, [...sources]]),
        ),
      },
      strictTransportSecurity: false,
      referrerPolicy: { policy: 'no-referrer' },
      xFrameOptions: { action: 'deny' },
    }),
  );
  app.use((request: Request, response: Response, next: NextFunction) => {
    if (request.secure) response.setHeader('strict-transport-security', HSTS_HEADER);
    next();
  });
}

/** Builds the configured control-plane app (used by main.ts, the OpenAPI writer and the tests). */
export async function createApp(
  env: Env,
  logger: Logger,
  infrastructure: Infrastructure = {},
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(env, logger, infrastructure), {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
  });
  // Client IPs (audit events, login rate limit) and `secure` cookies believe X-Forwarded-* only from trusted proxies.
  app.set('trust proxy', env.GATEHOUSE_TRUSTED_PROXIES.length > 0 ? env.GATEHOUSE_TRUSTED_PROXIES : false);
  app.disable('x-powered-by');
  useSecurityHeaders(app);
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
  serveDashboard(app, env.GATEHOUSE_DASHBOARD_DIR ?? defaultDashboardDirectory);
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/openapi.json', raw: ['json'] });
  return app;
}
