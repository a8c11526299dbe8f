import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ApiError, clientErrorCodes } from '@gatehouse/api-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sampleApiEndpoint } from '../test/helpers/sample-api-endpoint.js';
import { formatError } from './cli-errors.js';
import { GatehouseApi, normalizeApiUrl, resolveEndpoint } from './gatehouse-api.js';

/** A stand-in API on a real socket: records requests and answers from a handler the test sets. */
type Handler = (request: IncomingMessage, url: URL, response: ServerResponse) => void;
let handler: Handler;
const requests: { method: string; path: string; authorization: string | undefined; body: string }[] = [];
let server: Server;
let origin = '';

function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function endpoint(index: number, url = `https://e${index}.example.com`) {
  return sampleApiEndpoint({ id: `ep_${index}`, url });
}

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      requests.push({
        method: request.method ?? '',
        path: `${url.pathname}${url.search}`,
        authorization: request.headers.authorization,
        body,
      });
      handler(request, url, response);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

beforeEach(() => {
  requests.length = 0;
});

describe('normalizeApiUrl', () => {
  it('accepts the install URL with or without /api and a trailing slash, keeping a path prefix', () => {
    expect(normalizeApiUrl('http://h:4000')).toBe('http://h:4000');
    expect(normalizeApiUrl('http://h:4000/api/')).toBe('http://h:4000');
    expect(normalizeApiUrl('https://proxy.example.com/gatehouse/')).toBe('https://proxy.example.com/gatehouse');
    expect(() => normalizeApiUrl('h:4000')).toThrow(/http or https/);
    expect(() => normalizeApiUrl('not a url')).toThrow(/is not a URL/);
  });
});

describe('GatehouseApi', () => {
  it('follows next_page_uri to the last page, under a path prefix, sending the API key', async () => {
    // Pages of 2 over 5 endpoints: the server's cursors are `/api/...` paths, as the real API writes them.
    const all = [0, 1, 2, 3, 4].map((index) => endpoint(index));
    handler = (_request, url, response) => {
      expect(url.pathname).toBe('/prefix/api/endpoints');
      const before = url.searchParams.get('before_id');
      const start = before === null ? 0 : all.findIndex((item) => item.id === before) + 1;
      const page = all.slice(start, start + 2);
      const last = page.at(-1);
      const more = start + 2 < all.length && last !== undefined;
      json(response, 200, {
        endpoints: page,
        next_page_uri: more ? `/api/endpoints?type=cloud&limit=2&before_id=${last.id}` : null,
      });
    };
    const client = new GatehouseApi({ apiUrl: `${origin}/prefix`, apiKey: 'gh_test0000_secret' });
    const endpoints = await client.listEndpoints({ type: 'cloud' });
    expect(endpoints.map((item) => item.id)).toEqual(['ep_0', 'ep_1', 'ep_2', 'ep_3', 'ep_4']);
    // The cursor of each next_page_uri is sent with the same filter, under the prefix.
    expect(requests.map((request) => request.path)).toEqual([
      '/prefix/api/endpoints?limit=500&type=cloud',
      '/prefix/api/endpoints?limit=500&type=cloud&before_id=ep_1',
      '/prefix/api/endpoints?limit=500&type=cloud&before_id=ep_3',
    ]);
    expect(new Set(requests.map((request) => request.authorization))).toEqual(new Set(['Bearer gh_test0000_secret']));
  });

  it('stops instead of looping when the server repeats a cursor', async () => {
    handler = (_request, _url, response) =>
      json(response, 200, { endpoints: [endpoint(0)], next_page_uri: '/api/endpoints?before_id=ep_0' });
    await expect(new GatehouseApi({ apiUrl: origin }).listEndpoints()).rejects.toThrow(/returned the cursor .* twice/);
  });

  it('follows the version cursor of policy versions', async () => {
    handler = (_request, url, response) => {
      const before = url.searchParams.get('before_version');
      const versions = before === null ? [3, 2] : [1];
      json(response, 200, {
        versions: versions.map((version) => ({ endpoint_id: 'ep_1', version })),
        next_page_uri: before === null ? '/api/endpoints/ep_1/policy-versions?limit=2&before_version=2' : null,
      });
    };
    const versions = await new GatehouseApi({ apiUrl: origin }).listPolicyVersions('ep_1');
    expect(versions.map((version) => version.version)).toEqual([3, 2, 1]);
    expect(requests.map((request) => request.path)).toEqual([
      '/api/endpoints/ep_1/policy-versions?limit=500',
      '/api/endpoints/ep_1/policy-versions?limit=500&before_version=2',
    ]);
  });

  it('turns the API error body into ApiError with code, details and request id', async () => {
    handler = (_request, _url, response) =>
      json(response, 409, {
        error_code: 'ENDPOINT_URL_TAKEN',
        message: 'An endpoint with URL https://a.example.com already exists',
        details: [{ path: 'url', message: 'taken' }],
        request_id: 'req-9',
      });
    const error = await new GatehouseApi({ apiUrl: origin })
      .createEndpoint({ url: 'https://a.example.com', type: 'cloud' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 409,
      code: 'ENDPOINT_URL_TAKEN',
      requestId: 'req-9',
      details: [{ path: 'url', message: 'taken' }],
    });
    expect(formatError(error as ApiError)).toEqual([
      'error ENDPOINT_URL_TAKEN: An endpoint with URL https://a.example.com already exists',
      '  url: taken',
      '  (request id req-9)',
    ]);
    // Only what the command set: the API fills in its own defaults.
    expect(JSON.parse(requests[0]?.body ?? '')).toEqual({ url: 'https://a.example.com', type: 'cloud' });
  });

  it('explains an answer that is not the API (wrong --api-url, proxy error page)', async () => {
    handler = (_request, _url, response) =>
      response.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
    await expect(new GatehouseApi({ apiUrl: origin }).me()).rejects.toMatchObject({
      code: clientErrorCodes.notGatehouse,
      message: expect.stringContaining(
        `GET ${origin}/api/auth/me answered HTTP 404 Not Found: <h1>Not Found</h1> (is this a Gatehouse API?)`,
      ) as unknown,
    });
    // A web server answering every path with its index page: 200, but not JSON.
    handler = (_request, _url, response) =>
      response.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Dashboard</h1>');
    await expect(new GatehouseApi({ apiUrl: origin }).me()).rejects.toMatchObject({
      code: clientErrorCodes.notGatehouse,
      message: expect.stringContaining('<h1>Dashboard</h1> (is this a Gatehouse API?)') as unknown,
    });
    handler = (_request, _url, response) =>
      response.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>');
    const proxyFailure = await new GatehouseApi({ apiUrl: origin }).me().catch((caught: unknown) => caught);
    expect(formatError(proxyFailure as ApiError)).toEqual([
      'error INTERNAL_ERROR: The server failed to answer (HTTP 502). Try again in a moment.',
    ]);
  });

  it('does not follow redirects (they would carry the API key elsewhere) and says where they point', async () => {
    handler = (_request, _url, response) =>
      response.writeHead(301, { location: 'https://gatehouse.example.com/api/auth/me' }).end();
    await expect(new GatehouseApi({ apiUrl: origin, apiKey: 'gh_test0000_secret' }).me()).rejects.toMatchObject({
      code: clientErrorCodes.redirect,
      message: `GET ${origin}/api/auth/me redirects to https://gatehouse.example.com/api/auth/me; use that address instead`,
    });
    expect(requests).toHaveLength(1);
  });

  it('names the URL it could not reach', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const error = await new GatehouseApi({ apiUrl: `http://127.0.0.1:${port}` })
      .me()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(formatError(error as ApiError)).toEqual([
      `error: The Gatehouse API cannot be reached (GET http://127.0.0.1:${port}/api/auth/me: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})). Check that it is running and the address is right.`,
    ]);
  });

  it('gives up after the timeout with a clear reason', async () => {
    handler = () => undefined; // never answers
    const error = await new GatehouseApi({ apiUrl: origin, timeoutMs: 200 }).me().catch((caught: unknown) => caught);
    expect((error as ApiError).message).toBe(
      `The Gatehouse API cannot be reached (GET ${origin}/api/auth/me: timed out). Check that it is running and the address is right.`,
    );
  });

  it('keeps only the session cookie from a login', async () => {
    handler = (_request, _url, response) =>
      json(
        response,
        200,
        { user: { id: 'usr_1', email: 'a@example.com', role: 'admin' } },
        { 'set-cookie': ['other=1; Path=/', 'gatehouse_session=tok123; Path=/; HttpOnly'] },
      );
    expect(await new GatehouseApi({ apiUrl: origin }).login('a@example.com', 'pw')).toEqual({
      cookie: 'gatehouse_session=tok123',
      role: 'admin',
      email: 'a@example.com',
    });
  });
});

describe('resolveEndpoint', () => {
  beforeEach(() => {
    handler = (_request, url, response) => {
      if (url.pathname === '/api/endpoints/ep_7') return json(response, 200, endpoint(7));
      const wanted = url.searchParams.get('url');
      const known = ['https://both.example.com', 'http://both.example.com', 'https://one.example.com'];
      json(response, 200, {
        endpoints: known.includes(wanted ?? '') ? [endpoint(1, wanted ?? '')] : [],
        next_page_uri: null,
      });
    };
  });

  it('takes ids, URLs and bare hosts', async () => {
    const client = new GatehouseApi({ apiUrl: origin });
    expect((await resolveEndpoint(client, 'ep_7')).id).toBe('ep_7');
    expect((await resolveEndpoint(client, 'https://one.example.com')).url).toBe('https://one.example.com');
    expect((await resolveEndpoint(client, 'one.example.com')).url).toBe('https://one.example.com');
  });

  it('says when a reference matches nothing or two endpoints', async () => {
    const client = new GatehouseApi({ apiUrl: origin });
    await expect(resolveEndpoint(client, 'https://none.example.com')).rejects.toThrow(
      'no endpoint has the URL https://none.example.com',
    );
    await expect(resolveEndpoint(client, 'none.example.com')).rejects.toThrow(
      'no endpoint has the id or host none.example.com',
    );
    await expect(resolveEndpoint(client, 'both.example.com')).rejects.toThrow(
      'both.example.com is ambiguous: name https://both.example.com or http://both.example.com',
    );
  });
});
