import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiError,
  apiBaseUrl,
  clientErrorCodes,
  collectPages,
  createApiClient,
  cursorOf,
  unwrap,
  unwrapAnswer,
} from './index.js';

// A real HTTP server standing in for the API's answers, good and bad: the client is exercised over a socket, as the
// dashboard, the CLI and the e2e tests use it.
type Handler = (request: IncomingMessage, response: ServerResponse) => void;
const routes = new Map<string, Handler>();
let server: Server;
let origin: string;
const seenHeaders: IncomingMessage['headers'][] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    seenHeaders.push(request.headers);
    const handler = routes.get(`${request.method} ${request.url?.split('?')[0]}`);
    if (handler === undefined) {
      response.writeHead(500).end('no route in the test server');
      return;
    }
    handler(request, response);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

const json = (status: number, body: unknown): Handler => {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
};

describe('createApiClient', () => {
  it('resolves typed data and sends the configured headers', async () => {
    routes.set('GET /api/health', json(200, { status: 'ok', database: 'ok', redis: 'ok' }));
    const client = createApiClient({ baseUrl: `${origin}/api/`, headers: { authorization: 'Bearer gh_test' } });
    const health = await unwrap(client.GET('/api/health'));
    expect(health).toMatchObject({ status: 'ok' });
    expect(seenHeaders.at(-1)).toMatchObject({ authorization: 'Bearer gh_test', accept: 'application/json' });
  });

  it("turns the API's error body into an ApiError with its code, details and request id", async () => {
    routes.set(
      'POST /api/traffic-policy/validate',
      json(400, {
        error_code: 'POLICY_INVALID',
        message: 'The policy has 1 error',
        details: [{ code: 'POLICY_YAML_SYNTAX', message: 'bad indentation', path: '/', line: 3, column: 5 }],
        request_id: 'req_123',
      }),
    );
    const client = createApiClient({ baseUrl: origin });
    const failure = await unwrap(
      client.POST('/api/traffic-policy/validate', { body: { traffic_policy: 'x', endpoint_type: 'cloud' } }),
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({
      status: 400,
      code: 'POLICY_INVALID',
      message: 'The policy has 1 error',
      requestId: 'req_123',
      details: [{ code: 'POLICY_YAML_SYNTAX', line: 3, column: 5 }],
    });
  });

  it('describes an answer that is not the API (wrong address, another service)', async () => {
    routes.set('GET /api/auth/me', (_request, response) => {
      response.writeHead(404, { 'content-type': 'text/html' }).end('<html>\n  <h1>Not   Found</h1></html>');
    });
    const failure = await unwrap(createApiClient({ baseUrl: origin }).GET('/api/auth/me')).catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ status: 404, code: clientErrorCodes.notGatehouse });
    expect((failure as ApiError).message).toBe(
      `GET ${origin}/api/auth/me answered HTTP 404 Not Found: <html> <h1>Not Found</h1></html> (is this a Gatehouse API?)`,
    );
  });

  it('describes a 2xx answer that is not JSON (a web server answering every path with its index page)', async () => {
    routes.set('GET /api/endpoints', (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Dashboard</title>');
    });
    const failure = await unwrap(createApiClient({ baseUrl: origin }).GET('/api/endpoints')).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 200, code: clientErrorCodes.notGatehouse });
    expect((failure as ApiError).message).toBe(
      `GET ${origin}/api/endpoints answered HTTP 200 OK: <!doctype html><title>Dashboard</title> (is this a Gatehouse API?)`,
    );
  });

  it('accepts JSON without a JSON content type, and empty 2xx answers', async () => {
    routes.set('GET /api/health', (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('{"status":"ok"}');
    });
    routes.set('DELETE /api/endpoints/ep_1', (_request, response) => response.writeHead(204).end());
    const client = createApiClient({ baseUrl: origin });
    expect(await unwrap(client.GET('/api/health'))).toEqual({ status: 'ok' });
    await expect(
      unwrap(client.DELETE('/api/endpoints/{id}', { params: { path: { id: 'ep_1' } } })),
    ).resolves.toBeUndefined();
  });

  it('hands over the response with the data, so headers such as set-cookie can be read', async () => {
    routes.set('POST /api/auth/login', (_request, response) => {
      response
        .writeHead(200, {
          'content-type': 'application/json',
          'set-cookie': ['other=1; Path=/', 'gatehouse_session=tok123; Path=/; HttpOnly'],
        })
        .end(JSON.stringify({ user: { id: 'usr_1', email: 'a@example.com', role: 'admin' } }));
    });
    const { data, response } = await unwrapAnswer(
      createApiClient({ baseUrl: origin }).POST('/api/auth/login', {
        body: { email: 'a@example.com', password: 'pw' },
      }),
    );
    expect(data.user.email).toBe('a@example.com');
    expect(response.headers.getSetCookie()).toEqual(['other=1; Path=/', 'gatehouse_session=tok123; Path=/; HttpOnly']);
  });

  it('says where a redirect points instead of following it with the credentials', async () => {
    routes.set('GET /api/endpoints', (_request, response) => {
      response.writeHead(301, { location: 'https://elsewhere.example.com/api/endpoints' }).end();
    });
    const failure = await unwrap(
      createApiClient({ baseUrl: origin, headers: { authorization: 'Bearer secret' } }).GET('/api/endpoints'),
    ).catch((error: unknown) => error);
    expect(failure).toMatchObject({ status: 301, code: clientErrorCodes.redirect });
    expect((failure as ApiError).message).toContain('redirects to https://elsewhere.example.com/api/endpoints');
  });

  it('reports a 5xx that is not the API body as a server failure', async () => {
    routes.set('GET /api/dataplanes', (_request, response) => response.writeHead(502).end('Bad Gateway'));
    const failure = await unwrap(createApiClient({ baseUrl: origin }).GET('/api/dataplanes')).catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ status: 502, code: clientErrorCodes.upstream });
  });

  it('rejects with NETWORK_ERROR and the system reason when nothing listens', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const failure = await unwrap(createApiClient({ baseUrl: `http://127.0.0.1:${port}` }).GET('/api/health')).catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ status: 0, code: clientErrorCodes.network });
    expect((failure as ApiError).message).toContain('ECONNREFUSED');
  });

  it('gives up after timeoutMs', async () => {
    routes.set('GET /api/audit-events', () => {
      // Never answers.
    });
    const failure = await unwrap(createApiClient({ baseUrl: origin, timeoutMs: 200 }).GET('/api/audit-events')).catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ status: 0, code: clientErrorCodes.network });
    expect((failure as ApiError).message).toContain('timed out');
  });
});

describe('pages', () => {
  it('reads the cursor of next_page_uri', () => {
    expect(cursorOf('/api/endpoints?limit=50&before_id=ep_9')).toBe('ep_9');
    expect(cursorOf('/api/request-logs?before=77', 'before')).toBe('77');
    expect(cursorOf(null)).toBeUndefined();
  });

  it('collects every page of a list over the wire', async () => {
    const all = Array.from({ length: 7 }, (_, index) => `ep_${index}`);
    routes.set('GET /api/endpoints', (request, response) => {
      const query = new URL(request.url ?? '', origin).searchParams;
      const start = query.has('before_id') ? all.indexOf(query.get('before_id')!) + 1 : 0;
      const page = all.slice(start, start + 3);
      const last = start + 3 >= all.length;
      json(200, {
        endpoints: page.map((id) => ({ id })),
        next_page_uri: last ? null : `/api/endpoints?limit=3&before_id=${page.at(-1)}`,
      })(request, response);
    });
    const client = createApiClient({ baseUrl: origin });
    const endpoints = await collectPages({
      fetchPage: (cursor) =>
        unwrap(
          client.GET('/api/endpoints', { params: { query: { limit: 3, ...(cursor ? { before_id: cursor } : {}) } } }),
        ),
      itemsOf: (page) => page.endpoints,
    });
    expect(endpoints.map((endpoint) => endpoint.id)).toEqual(all);
  });

  it('stops when the server repeats a cursor', async () => {
    const walk = collectPages({
      fetchPage: () => Promise.resolve({ items: [1], next_page_uri: '/api/x?before_id=same' }),
      itemsOf: (page: { items: number[]; next_page_uri: string | null }) => page.items,
    });
    await expect(walk).rejects.toThrow('returned the cursor same twice');
  });
});

describe('apiBaseUrl', () => {
  it.each([
    ['http://h:4000', 'http://h:4000'],
    ['http://h:4000/', 'http://h:4000'],
    ['http://h:4000/api', 'http://h:4000'],
    ['https://gw.example.com/gatehouse/api/', 'https://gw.example.com/gatehouse'],
  ])('%s → %s', (text, expected) => {
    expect(apiBaseUrl(text)).toBe(expected);
  });
});
