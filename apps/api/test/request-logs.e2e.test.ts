import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type RecordedRequestInput,
  redisNames,
  type RequestEventInput,
  requestLogsTailChannel,
} from '@gatehouse/contracts';
import { sampleRecordedRequest, sampleRequestEvent } from '@gatehouse/contracts/testing';
import type { Agent as TestAgent } from 'supertest';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CreatedApiKeyResponseSchema } from '../src/api-keys/api-keys.dto';
import { InProcessMessageBus } from '../src/bus/in-process-message-bus';
import { createLogger } from '../src/common/logger';
import { RequestLogBatchProcessor } from '../src/request-logs/request-log-ingestion';
import { RequestLogIngestionWorker } from '../src/request-logs/request-log-ingestion-worker';
import { deleteExpiredRequestLogs } from '../src/request-logs/request-log-retention';
import { RequestLogRetention } from '../src/request-logs/request-log-retention-scheduler';
import {
  type RequestLogListResponse,
  RequestLogListResponseSchema,
  RequestLogResponseSchema,
  type RequestLogSummary,
} from '../src/request-logs/request-logs.dto';
import { RequestLogsRepository } from '../src/request-logs/request-logs.repository';
import { RequestLogsService } from '../src/request-logs/request-logs.service';
import { bodyOf, errorOf } from './http';
import { SseClient, waitFor } from './request-log-support';
import { RequestLogProducer } from './support/request-log-producer';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';
import { TEST_REDIS_URL } from './test-env';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

/** Replay facts as a data plane records them with every request. */
const replayFactsSample = (): RecordedRequestInput =>
  sampleRecordedRequest({ client_ip: '160.79.104.10', client_ip_categories: ['com.anthropic.api'] });
/** Redis names of this file: its BullMQ keys never collide with anything else using the machine's Redis. */
const names = redisNames(`gatehouse-test-${process.pid}`);

describe('request logs', () => {
  let testApp: TestApp;
  let admin: TestAgent;
  let viewer: TestAgent;
  let viewerKey: string;
  let baseUrl: string;
  let processor: RequestLogBatchProcessor;
  let worker: RequestLogIngestionWorker | undefined;
  const producers: RequestLogProducer[] = [];
  const streams: SseClient[] = [];

  const listAll = async (query: string, agent: TestAgent = viewer): Promise<RequestLogSummary[]> => {
    const found: RequestLogSummary[] = [];
    let uri: string | null = `/api/request-logs?${query}`;
    while (uri) {
      const response = await agent.get(uri).expect(200);
      const page: RequestLogListResponse = bodyOf(response, RequestLogListResponseSchema);
      found.push(...page.request_logs);
      uri = page.next_page_uri;
    }
    return found;
  };
  const count = async () =>
    Number((await testApp.db.query<{ count: string }>('SELECT count(*) FROM request_logs')).rows[0]?.count);
  const openStream = async (query = '', headers: Record<string, string> = {}) => {
    const stream = await SseClient.connect(`${baseUrl}/api/request-logs/stream${query}`, {
      authorization: `Bearer ${viewerKey}`,
      ...headers,
    });
    streams.push(stream);
    await waitFor(() => stream.comments.includes('connected'));
    return stream;
  };
  const newProducer = () => {
    const producer = new RequestLogProducer({ redisUrl: TEST_REDIS_URL, names, source: 'test' });
    producers.push(producer);
    return producer;
  };

  beforeAll(async () => {
    testApp = await createTestApp({ REQUEST_LOG_REDACT_HEADERS: 'x-api-key' });
    await resetState(testApp);
    admin = await setupAdmin(testApp);
    viewer = await loginAs(testApp, admin, 'viewer');
    const key = await admin.post('/api/api-keys').send({ description: 'tail', role: 'viewer' }).expect(201);
    viewerKey = bodyOf(key, CreatedApiKeyResponseSchema).secret;
    const server = testApp.app.getHttpServer() as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    processor = new RequestLogBatchProcessor(
      testApp.app.get(RequestLogsRepository),
      testApp.redis,
      logger,
      testApp.env.REQUEST_LOG_REDACT_HEADERS,
    );
  });
  beforeEach(async () => {
    await resetState(testApp, { keepAccounts: true });
  });
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await Promise.all(producers.splice(0).map((producer) => producer.close()));
    await worker?.close();
    worker = undefined;
  });
  afterAll(async () => {
    const keys = await testApp.redis.keys(`${names.bullmqPrefix}:*`);
    if (keys.length > 0) await testApp.redis.del(...keys);
    await testApp.close();
  });

  it('delivers events from the request-log queue to the query API and the live tail within a second', async () => {
    worker = new RequestLogIngestionWorker(processor, logger, { redisUrl: TEST_REDIS_URL, prefix: names.bullmqPrefix });
    worker.start();
    await worker.waitUntilReady();
    const tail = await openStream();
    const producer = newProducer();
    const events = Array.from({ length: 30 }, (_, index) =>
      sampleRequestEvent({ path: `/tools/${index}`, status: index % 3 === 0 ? 401 : 200 }),
    );
    const started = Date.now();
    // As a data plane sends them: several batches, one job each.
    await producer.sendBatches([events.slice(0, 10), events.slice(10, 20), events.slice(20)]);

    await waitFor(() => tail.events.length >= 30);
    expect(Date.now() - started).toBeLessThan(1_000);
    const streamed = tail.dataOf();
    expect(streamed.map((log) => log.id).sort()).toEqual(events.map((event) => event.id).sort());
    expect(
      tail.events.every(
        (event) =>
          event.event === 'request_log' && event.id === String((JSON.parse(event.data) as { seq: number }).seq),
      ),
    ).toBe(true);
    expect(tail.headers['content-type']).toMatch(/^text\/event-stream/);

    const listed = await listAll('limit=7');
    expect(listed.map((log) => log.id).sort()).toEqual(events.map((event) => event.id).sort());

    const one = events[4]!;
    const detail = bodyOf(await viewer.get(`/api/request-logs/${one.id}`).expect(200), RequestLogResponseSchema);
    expect(detail).toMatchObject({
      id: one.id,
      path: '/tools/4',
      policy_version: 2,
      policy_version_uri: '/api/endpoints/ep_sample/policy-versions/2',
      decision: { action: 'forward-internal', rule_name: 'forward' },
      forwarded_to: 'https://mcp.example.internal',
    });
    expect(detail.trace).toEqual(one.trace);
    const missing = await viewer.get('/api/request-logs/nope').expect(404);
    expect(errorOf(missing).error_code).toBe('REQUEST_LOG_NOT_FOUND');
  });

  it('lets viewers (session or API key) read and refuses anonymous callers', async () => {
    await viewer.get('/api/request-logs').expect(200);
    await testApp.http().get('/api/request-logs').set('authorization', `Bearer ${viewerKey}`).expect(200);
    for (const path of ['/api/request-logs', '/api/request-logs/x', '/api/request-logs/stream']) {
      const response = await testApp.http().get(path).expect(401);
      expect(errorOf(response).error_code).toBe('UNAUTHENTICATED');
    }
    const anonymousStream = await SseClient.connect(`${baseUrl}/api/request-logs/stream`, {});
    streams.push(anonymousStream);
    expect(anonymousStream.status).toBe(401);
  });

  describe('filters and pagination on a seeded dataset', () => {
    const base = Date.parse('2026-11-20T10:00:00.000Z');
    const dataset: RequestEventInput[] = [];
    const statuses = [200, 201, 401, 403, 429, 502];
    const actions = ['forward-internal', 'forward-internal', 'deny', 'deny', 'rate-limit', 'forward-internal'];
    for (let index = 0; index < 90; index++) {
      const kind = index % 6;
      dataset.push(
        sampleRequestEvent({
          // Pairs share a timestamp, so the (timestamp, id) cursor must break ties.
          timestamp: new Date(base + Math.floor(index / 2) * 1000).toISOString(),
          endpoint_id: index % 3 === 0 ? 'ep_other' : 'ep_main',
          method: index % 4 === 0 ? 'GET' : 'POST',
          host: index % 5 === 0 ? 'api.example.com' : 'mcp.example.com',
          path: index % 7 === 0 ? `/admin/Reports/${index}` : `/mcp/${index}`,
          status: statuses[kind]!,
          decision:
            kind === 5
              ? null
              : { phase: 'on_http_request', rule_index: kind, rule_name: `rule-${kind}`, action: actions[kind]! },
          client_ip: index % 10 === 3 ? '2607:6bc0::10' : index % 2 === 0 ? '160.79.104.10' : '203.0.113.7',
          mcp:
            index % 8 === 0
              ? {
                  method: 'tools/call',
                  tool: 'read_file',
                  protocol_version: '2025-06-18',
                  kind: 'request' as const,
                  session_id: `session-${index}`,
                }
              : index % 8 === 1
                ? { method: 'tools/call', tool: 'read_file_v2', protocol_version: '2025-06-18' }
                : null,
          caller: callerOf(index),
        }),
      );
    }
    /** A JWT caller, a basic-auth caller, a rate-limit fingerprint, or nobody. */
    function callerOf(index: number): RequestEventInput['caller'] {
      const nobody = {
        subject: null,
        client_id: null,
        issuer: null,
        basic_auth_user: null,
        credential_fingerprint: null,
      };
      switch (index % 4) {
        case 0:
          return { ...nobody, subject: `user-${index % 3}`, client_id: 'claude', issuer: 'https://auth.example.com' };
        case 1:
          return { ...nobody, basic_auth_user: 'ops' };
        case 2:
          return { ...nobody, credential_fingerprint: 'sha256:0123456789abcdef' };
        default:
          return null;
      }
    }
    const newestFirst = (events: RequestEventInput[]) =>
      [...events]
        .sort((a, b) => (a.timestamp === b.timestamp ? (a.id < b.id ? 1 : -1) : a.timestamp < b.timestamp ? 1 : -1))
        .map((event) => event.id);

    beforeEach(async () => {
      for (let index = 0; index < dataset.length; index += 40) {
        await processor.processBatch({ source: 'seed', events: dataset.slice(index, index + 40) });
      }
    });

    const cases: [string, (event: RequestEventInput) => boolean][] = [
      ['', () => true],
      ['endpoint_id=ep_other', (event) => event.endpoint_id === 'ep_other'],
      ['status=4xx', (event) => event.status >= 400 && event.status < 500],
      ['status=429', (event) => event.status === 429],
      ['status=5XX', (event) => event.status >= 500],
      ['method=get', (event) => event.method === 'GET'],
      ['client_ip=203.0.113.7', (event) => event.client_ip === '203.0.113.7'],
      ['action=deny', (event) => event.decision?.action === 'deny'],
      ['q=reports', (event) => event.path.toLowerCase().includes('reports')],
      ['q=API.EXAMPLE', (event) => event.host === 'api.example.com'],
      ['q=read_file', (event) => event.mcp?.tool.includes('read_file') ?? false],
      // Issue 19: the MCP method is searched too, and CIDRs or leading octets filter by range.
      ['q=tools%2Fcall', (event) => event.mcp?.method === 'tools/call'],
      ['q=TOOLS/CALL', (event) => event.mcp?.method === 'tools/call'],
      ['client_ip=160.79.104.0%2F21', (event) => event.client_ip === '160.79.104.10'],
      ['client_ip=160.79', (event) => event.client_ip === '160.79.104.10'],
      ['client_ip=203.0.113.', (event) => event.client_ip === '203.0.113.7'],
      ['client_ip=2607%3A6bc0%3A%3A%2F48', (event) => event.client_ip === '2607:6bc0::10'],
      ['client_ip=2607%3A6bc0%3A%3A10', (event) => event.client_ip === '2607:6bc0::10'],
      ['client_ip=10.0.0.0%2F8', () => false],
      ['client_ip=0.0.0.0%2F0', (event) => !event.client_ip.includes(':')],
      ['q=%25', () => false],
      ['tool=read_file', (event) => event.mcp?.tool === 'read_file'],
      ['tool=READ_FILE', () => false],
      ['tool=read_file_v2', (event) => event.mcp?.tool === 'read_file_v2'],
      ['caller=user-1', (event) => event.caller?.subject === 'user-1'],
      ['caller=claude', (event) => event.caller?.client_id === 'claude'],
      ['caller=ops', (event) => event.caller?.basic_auth_user === 'ops'],
      [
        'caller=sha256%3A0123456789abcdef',
        (event) => event.caller?.credential_fingerprint !== null && event.caller?.credential_fingerprint !== undefined,
      ],
      ['caller=https%3A%2F%2Fauth.example.com', () => false],
      ['caller=us', () => false],
      [
        'caller=claude&tool=read_file&status=2xx',
        (event) =>
          event.caller?.client_id === 'claude' &&
          event.mcp?.tool === 'read_file' &&
          event.status >= 200 &&
          event.status < 300,
      ],
      [
        'from=2026-11-20T10:00:10Z&to=2026-11-20T10:00:20Z',
        (event) => event.timestamp >= '2026-11-20T10:00:10.000Z' && event.timestamp < '2026-11-20T10:00:20.000Z',
      ],
      [
        'endpoint_id=ep_main&status=4xx&method=POST&action=deny',
        (event) =>
          event.endpoint_id === 'ep_main' &&
          event.status >= 400 &&
          event.status < 500 &&
          event.method === 'POST' &&
          event.decision?.action === 'deny',
      ],
    ];

    it.each(cases)('?%s returns exactly the matching rows, newest first, across pages', async (query, predicate) => {
      const expected = newestFirst(dataset.filter(predicate));
      const listed = await listAll(`${query}&limit=7`);
      expect(listed.map((log) => log.id)).toEqual(expected);
    });

    it('answers the MCP facts whole: kind and session id with method, tool and protocol version', async () => {
      const listed = bodyOf(
        await viewer.get('/api/request-logs?tool=read_file&limit=1').expect(200),
        RequestLogListResponseSchema,
      );
      expect(listed.request_logs[0]!.mcp).toEqual({
        method: 'tools/call',
        tool: 'read_file',
        protocol_version: '2025-06-18',
        kind: 'request',
        session_id: expect.stringMatching(/^session-\d+$/) as unknown,
      });
    });

    it('pages with a cursor that keeps the filters and ends with a null next_page_uri', async () => {
      const first = bodyOf(
        await viewer.get('/api/request-logs?status=4xx&limit=10').expect(200),
        RequestLogListResponseSchema,
      );
      expect(first.request_logs).toHaveLength(10);
      expect(first.next_page_uri).toMatch(/^\/api\/request-logs\?status=4xx&limit=10&before=/);
      const everything = await listAll('limit=500');
      expect(everything).toHaveLength(90);
      const last = bodyOf(await viewer.get('/api/request-logs?limit=90').expect(200), RequestLogListResponseSchema);
      expect(last.next_page_uri).toBeNull();
    });

    it('rejects bad filters with VALIDATION_FAILED', async () => {
      for (const query of [
        'status=4x',
        'status=abc',
        'from=yesterday',
        'limit=0',
        'limit=501',
        'before=garbage',
        'method=G%20T',
        'caller=',
        'tool=',
        `caller=${'x'.repeat(1025)}`,
        'client_ip=160.79.104.300',
        'client_ip=160.79.104.10.5',
        'client_ip=office',
        'client_ip=10.0.0.0%2F33',
        'client_ip=010.1',
      ]) {
        const response = await viewer.get(`/api/request-logs?${query}`).expect(400);
        expect(errorOf(response).error_code, query).toBe('VALIDATION_FAILED');
      }
    });

    it('returns who called with each row (the detail too)', async () => {
      const [row] = await listAll('caller=user-1&limit=1');
      expect(row!.caller).toEqual({
        subject: 'user-1',
        client_id: 'claude',
        issuer: 'https://auth.example.com',
        basic_auth_user: null,
        credential_fingerprint: null,
      });
      const detail = bodyOf(await viewer.get(row!.uri).expect(200), RequestLogResponseSchema);
      expect(detail.caller).toEqual(row!.caller);
      const anonymous = await listAll('client_ip=203.0.113.7&limit=500');
      expect(anonymous.filter((log) => log.caller === null).length).toBeGreaterThan(0);
    });

    it('applies the caller and tool filters to the live tail as the list does', async () => {
      const filtered = await openStream('?caller=claude&tool=read_file', { 'last-event-id': '0' });
      const expected = dataset.filter(
        (event) => event.caller?.client_id === 'claude' && event.mcp?.tool === 'read_file',
      );
      expect(expected.length).toBeGreaterThan(0);
      await waitFor(() => filtered.events.length >= expected.length);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(
        filtered
          .dataOf()
          .map((log) => log.id)
          .sort(),
      ).toEqual(expected.map((event) => event.id).sort());
    });

    it('applies the client range and MCP method search to the live tail as the list does', async () => {
      const filtered = await openStream('?client_ip=160.79&q=tools%2Fcall', { 'last-event-id': '0' });
      const expected = dataset.filter(
        (event) => event.client_ip === '160.79.104.10' && event.mcp?.method === 'tools/call',
      );
      expect(expected.length).toBeGreaterThan(0);
      await waitFor(() => filtered.events.length >= expected.length);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(
        filtered
          .dataOf()
          .map((log) => log.id)
          .sort(),
      ).toEqual(expected.map((event) => event.id).sort());
    });

    it('says what a client filter may be when it is none of them', async () => {
      const response = await viewer.get('/api/request-logs?client_ip=office').expect(400);
      expect(errorOf(response).details).toEqual([
        { path: 'client_ip', message: expect.stringMatching(/an IP address .* a CIDR .* leading octets/) as unknown },
      ]);
    });

    it('applies the same filters to the live tail and replays from Last-Event-ID', async () => {
      const filtered = await openStream('?status=4xx&endpoint_id=ep_main', { 'last-event-id': '0' });
      const expected = dataset.filter(
        (event) => event.endpoint_id === 'ep_main' && event.status >= 400 && event.status < 500,
      );
      await waitFor(() => filtered.events.length >= expected.length);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(
        filtered
          .dataOf()
          .map((log) => log.id)
          .sort(),
      ).toEqual(expected.map((event) => event.id).sort());
    });
  });

  it('stores no secret headers, even when a data plane sends them', async () => {
    const event = sampleRequestEvent({
      request_headers: {
        Authorization: 'Bearer top-secret-1',
        'X-Api-Key': 'top-secret-2',
        accept: 'application/json',
      },
      response_headers: { 'Set-Cookie': 'sid=top-secret-3', 'content-type': 'application/json' },
      logs: [{ message: 'seen', headers: { cookie: 'top-secret-4', 'proxy-authorization': 'top-secret-5' } }],
      request_body: 'x'.repeat(20_000),
    });
    await processor.processBatch({ events: [event] });
    const detail = bodyOf(await viewer.get(`/api/request-logs/${event.id}`).expect(200), RequestLogResponseSchema);
    expect(detail.request_headers).toEqual({ accept: 'application/json' });
    expect(detail.response_headers).toEqual({ 'content-type': 'application/json' });
    expect(detail.logs).toEqual([
      { message: 'seen', headers: { cookie: '[REDACTED]', 'proxy-authorization': '[REDACTED]' } },
    ]);
    expect(detail.request_body).toHaveLength(16_384);
    const stored = await testApp.db.query<{ text: string }>('SELECT row_to_json(r)::text AS text FROM request_logs r');
    expect(stored.rows[0]?.text).not.toMatch(/top-secret/);
  });

  it('stores what ai-gateway did (attempts, tokens, cost) and returns it in the list and the detail', async () => {
    const aiGateway = {
      format: 'openai' as const,
      status: 'success' as const,
      error_code: null,
      requested_model: 'gpt-4o',
      provider: 'openai',
      model: 'gpt-4o',
      attempts: [
        {
          provider: 'openai',
          model: 'gpt-4o',
          api_key: 'sha256:0123456789abcdef',
          status: 'error' as const,
          status_code: 429,
          error: 'provider answered 429',
          duration_ms: 12.5,
        },
        {
          provider: 'openai',
          model: 'gpt-4o',
          api_key: 'sha256:fedcba9876543210',
          status: 'success' as const,
          status_code: 200,
          error: null,
          duration_ms: 80,
        },
      ],
      input_tokens_estimated: 10,
      input_tokens: 11,
      output_tokens: 5,
      cost_usd: 0.0000775,
      client_key_hash: 'sha256:00112233aabbccdd',
      streamed: true,
    };
    const event = sampleRequestEvent({ ai_gateway: aiGateway });
    await processor.processBatch({ events: [event, sampleRequestEvent()] });
    const detail = bodyOf(await viewer.get(`/api/request-logs/${event.id}`).expect(200), RequestLogResponseSchema);
    expect(detail.ai_gateway).toEqual(aiGateway);
    const list = await viewer.get('/api/request-logs').expect(200);
    const rows = (list.body as { request_logs: { id: string; ai_gateway: unknown }[] }).request_logs;
    expect(rows.find((row) => row.id === event.id)?.ai_gateway).toEqual(aiGateway);
    expect(rows.find((row) => row.id !== event.id)?.ai_gateway).toBeNull();
  });

  it('sums ai-gateway tokens and cost by day, model and client key (the usage view)', async () => {
    const usage = (model: string, key: string, input: number, output: number, cost: number) =>
      sampleRequestEvent({
        ai_gateway: {
          format: 'openai',
          status: 'success',
          error_code: null,
          requested_model: model,
          provider: 'openai',
          model,
          attempts: [],
          input_tokens_estimated: input,
          input_tokens: input,
          output_tokens: output,
          cost_usd: cost,
          client_key_hash: key,
          streamed: false,
        },
      });
    await processor.processBatch({
      events: [
        usage('gpt-4o', 'sha256:aaaaaaaaaaaaaaaa', 100, 10, 0.00035),
        usage('gpt-4o', 'sha256:aaaaaaaaaaaaaaaa', 50, 5, 0.000175),
        usage('gpt-4o-mini', 'sha256:bbbbbbbbbbbbbbbb', 1000, 100, 0.00021),
        sampleRequestEvent(),
      ],
    });
    const response = await viewer.get('/api/ai-usage?days=1').expect(200);
    const body = response.body as { from: string; to: string; rows: Record<string, unknown>[] };
    const today = new Date().toISOString().slice(0, 10);
    expect(body.to).toBe(today);
    expect(body.rows).toEqual([
      {
        day: today,
        provider: 'openai',
        model: 'gpt-4o',
        client_key: 'sha256:aaaaaaaaaaaaaaaa',
        requests: 2,
        input_tokens: 150,
        output_tokens: 15,
        cost_usd: 0.000525,
      },
      {
        day: today,
        provider: 'openai',
        model: 'gpt-4o-mini',
        client_key: 'sha256:bbbbbbbbbbbbbbbb',
        requests: 1,
        input_tokens: 1000,
        output_tokens: 100,
        cost_usd: 0.00021,
      },
    ]);
    expect(errorOf(await viewer.get('/api/ai-usage?days=500').expect(400)).error_code).toBe('VALIDATION_FAILED');
  });

  it('inserts idempotently by event id and drops only the invalid events of a batch', async () => {
    const events = Array.from({ length: 5 }, () => sampleRequestEvent());
    expect(await processor.processBatch({ events })).toMatchObject({ inserted: 5, duplicates: 0, invalid: 0 });
    const again = await processor.processBatch({
      events: [...events, sampleRequestEvent({ status: 9999 }), { id: 'x' }, sampleRequestEvent()],
    });
    expect(again).toEqual({ received: 8, inserted: 1, duplicates: 5, invalid: 2 });
    expect(await count()).toBe(6);
    expect(await processor.processBatch({ nonsense: true })).toMatchObject({ inserted: 0, invalid: 1 });
  });

  it('stores what the COPY text format escapes or could mistake for null exactly as sent', async () => {
    // Tab, newline, carriage return and backslash mean something in COPY's text format; `\\N` is its null; quotes,
    // commas and braces mean something in an array literal.
    const awkward = 'tab\there\nnew\rline \\N back\\slash "quoted" {brace}, comma é ✓';
    const event = sampleRequestEvent({
      path: `/p/${awkward}`,
      query: '\\N',
      user_agent: awkward,
      client_ip_categories: [awkward, '', 'NULL', '\\N'],
      logs: [{ note: awkward, nested: { list: [awkward, null, 1.5] } }],
      mcp: { method: 'tools/call', tool: awkward, protocol_version: '2025-06-18' },
      request_headers: { 'x-odd': awkward },
      request_body: awkward,
      response_body: '',
      error_code: null,
    });
    expect(await processor.processBatch({ events: [event] })).toMatchObject({ inserted: 1, invalid: 0 });
    const row = await testApp.app.get(RequestLogsRepository).findRequestLogById(event.id);
    expect(row).toMatchObject({
      path: event.path,
      query: '\\N',
      user_agent: awkward,
      client_ip_categories: [awkward, '', 'NULL', '\\N'],
      logs: event.logs,
      mcp: event.mcp,
      request_headers: { 'x-odd': awkward },
      request_body: awkward,
      response_body: '',
      error_code: null,
      caller: null,
    });
    const derived = await testApp.db.query('SELECT mcp_tool, caller_ids FROM request_logs WHERE id = $1', [event.id]);
    expect(derived.rows).toEqual([{ mcp_tool: awkward, caller_ids: [] }]);
  });

  it('stores a NUL character a client sent (which Postgres text cannot hold) as U+FFFD, and the rest of the batch', async () => {
    // Any MCP client can put \u0000 in a tool name or a body; as sent, the batch's insert failed on every retry and took
    // every other event of its group with it.
    const nul = 'before\u0000after \\u0000 kept';
    const stored = 'before\ufffdafter \\u0000 kept';
    const event = sampleRequestEvent({
      user_agent: nul,
      client_ip_categories: [nul],
      logs: [{ note: nul, [nul]: 1 }],
      mcp: { method: 'tools/call', tool: nul, protocol_version: '2025-06-18' },
      request_body: nul,
    });
    const neighbour = sampleRequestEvent();
    expect(await processor.processBatch({ events: [event, neighbour] })).toMatchObject({ inserted: 2, invalid: 0 });
    const row = await testApp.app.get(RequestLogsRepository).findRequestLogById(event.id);
    expect(row).toMatchObject({
      user_agent: stored,
      client_ip_categories: [stored],
      logs: [{ note: stored, [stored]: 1 }],
      mcp: { tool: stored },
      request_body: stored,
    });
    expect(await testApp.app.get(RequestLogsRepository).findRequestLogById(neighbour.id)).not.toBeNull();
  });

  it('stores concurrent jobs as overlapping groups whose seqs follow commit order, and a redelivery adds nothing', async () => {
    const repository = testApp.app.get(RequestLogsRepository);
    let inFlight = 0;
    let mostInFlight = 0;
    const writer = {
      prepareRow: repository.prepareRow.bind(repository),
      insertRequestLogs: async (rows: Parameters<RequestLogsRepository['insertRequestLogs']>[0]) => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        try {
          return await repository.insertRequestLogs(rows);
        } finally {
          inFlight -= 1;
        }
      },
    };
    const messages: { after_seq: number; last_seq: number; request_logs: { id: string; seq: number }[] }[] = [];
    const pipelined = new RequestLogBatchProcessor(
      writer,
      {
        publish: (_channel, message) =>
          Promise.resolve(messages.push(JSON.parse(message) as (typeof messages)[number])),
      },
      logger,
      [],
    );
    // 12 jobs of 300 events at once, as BullMQ hands them over: the first starts a group alone, the next seven fill a
    // second one that starts while the first is stored, the last four wait for a free slot.
    const batches = Array.from({ length: 12 }, () => ({
      events: Array.from({ length: 300 }, () => sampleRequestEvent({ replay: replayFactsSample() })),
    }));
    const results = await Promise.all(batches.map((batch) => pipelined.processBatch(batch)));
    expect(results.every((result) => result.inserted === 300 && result.duplicates === 0)).toBe(true);
    expect(mostInFlight).toBe(2);

    // Tail messages chain without a gap and list every row once, in the order of seq in the table.
    const stored = await testApp.db.query<{ id: string; seq: string }>('SELECT id, seq FROM request_logs ORDER BY seq');
    expect(messages.length).toBeGreaterThanOrEqual(3);
    expect(messages[0]!.after_seq).toBe(0);
    for (const [index, message] of messages.entries()) {
      if (index > 0) expect(message.after_seq).toBe(messages[index - 1]!.last_seq);
      expect(message.request_logs.at(-1)!.seq).toBe(message.last_seq);
    }
    expect(messages.flatMap((message) => message.request_logs.map((log) => [log.id, log.seq]))).toEqual(
      stored.rows.map((row) => [row.id, Number(row.seq)]),
    );
    const totals = async () => {
      const { rows } = await testApp.db.query<{ logs: string; facts: string; counted: string }>(
        `SELECT (SELECT count(*) FROM request_logs) AS logs, (SELECT count(*) FROM request_replay_facts) AS facts,
          (SELECT coalesce(sum(requests), 0) FROM traffic_rollups WHERE resolution = 60 AND endpoint_id = '*') AS counted`,
      );
      return rows[0];
    };
    expect(await totals()).toEqual({ logs: '3600', facts: '3600', counted: '3600' });

    // The same jobs again (a redelivery after a lost acknowledgement), concurrently: nothing new, nothing counted twice.
    messages.length = 0;
    const again = await Promise.all(batches.map((batch) => pipelined.processBatch(batch)));
    expect(again.every((result) => result.inserted === 0 && result.duplicates === 300)).toBe(true);
    expect(await totals()).toEqual({ logs: '3600', facts: '3600', counted: '3600' });
    expect(messages).toEqual([]);
  });

  it('replays exactly what a disconnected tail missed (Last-Event-ID), without gaps or duplicates', async () => {
    await processor.processBatch({ events: [sampleRequestEvent(), sampleRequestEvent()] });
    const first = await openStream();
    const before = Array.from({ length: 5 }, () => sampleRequestEvent());
    await processor.processBatch({ events: before });
    await waitFor(() => first.events.length === 5);
    const lastId = first.events.at(-1)!.id!;
    first.close();
    const missed = Array.from({ length: 3 }, () => sampleRequestEvent());
    for (const event of missed) await processor.processBatch({ events: [event] });
    const resumed = await openStream('', { 'last-event-id': lastId });
    await waitFor(() => resumed.events.length >= 3);
    const later = Array.from({ length: 4 }, () => sampleRequestEvent());
    await processor.processBatch({ events: later });
    await waitFor(() => resumed.events.length >= 7);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(resumed.dataOf().map((log) => log.id)).toEqual([...missed, ...later].map((event) => event.id));
    const seqs = resumed.dataOf().map((log) => log.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    await testApp
      .http()
      .get('/api/request-logs/stream')
      .set('authorization', `Bearer ${viewerKey}`)
      .set('last-event-id', 'abc')
      .expect(400);
  });

  it('fills in rows whose tail message was lost, at the next heartbeat', async () => {
    const service = testApp.app.get(RequestLogsService);
    service.heartbeatIntervalMs = 200;
    try {
      const tail = await openStream();
      const silent = new RequestLogBatchProcessor(
        testApp.app.get(RequestLogsRepository),
        { publish: () => Promise.reject(new Error('Redis is down')) },
        logger,
        [],
      );
      const lost = Array.from({ length: 3 }, () => sampleRequestEvent());
      await silent.processBatch({ events: lost });
      await waitFor(() => tail.events.length >= 3);
      expect(tail.dataOf().map((log) => log.id)).toEqual(lost.map((event) => event.id));
      expect(tail.comments).toContain('heartbeat');
    } finally {
      service.heartbeatIntervalMs = 15_000;
    }
  });

  it('builds no tail message while nobody tails, and publishes again once a tail subscribes', async () => {
    // The real in-process bus, counting what is published on the tail channel. Its subscriberCount reads the bus's
    // own fields, so this fails if the processor calls it detached from the bus.
    const bus = new InProcessMessageBus();
    let published = 0;
    const publish = bus.publish.bind(bus);
    bus.publish = (channel, message) => {
      if (channel === requestLogsTailChannel) published += 1;
      return publish(channel, message);
    };
    const repository = testApp.app.get(RequestLogsRepository);
    const quiet = new RequestLogBatchProcessor(repository, bus, logger, []);
    await quiet.processBatch({ events: [sampleRequestEvent()] });
    // Validated while nobody tails: the row waits as COPY text only, and is stored whole all the same.
    const untailed = sampleRequestEvent({ replay: replayFactsSample() });
    await quiet.processBatch({ events: [untailed] });
    expect(published).toBe(0);
    expect(await repository.findRequestLogById(untailed.id)).toMatchObject({
      id: untailed.id,
      path: untailed.path,
      status: untailed.status,
      trace: untailed.trace,
    });
    const received: string[] = [];
    const unsubscribe = await bus.subscribe(requestLogsTailChannel, (message) => received.push(message));
    try {
      // The subscriber count is checked at most once a second.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const event = sampleRequestEvent();
      await quiet.processBatch({ events: [event] });
      expect(published).toBe(1);
      expect(
        (JSON.parse(received[0]!) as { request_logs: { id: string }[] }).request_logs.map((log) => log.id),
      ).toEqual([event.id]);
    } finally {
      unsubscribe();
    }
  });

  it('ignores malformed tail messages', async () => {
    const tail = await openStream();
    await testApp.redis.publish(requestLogsTailChannel, '{"nope": true}');
    await processor.processBatch({ events: [sampleRequestEvent()] });
    await waitFor(() => tail.events.length === 1);
  });

  it('deletes rows older than the retention, on a BullMQ schedule', async () => {
    const day = 24 * 60 * 60 * 1000;
    const old = Array.from({ length: 3 }, () =>
      sampleRequestEvent({ timestamp: new Date(Date.now() - 8 * day).toISOString() }),
    );
    const recent = Array.from({ length: 2 }, () =>
      sampleRequestEvent({ timestamp: new Date(Date.now() - 6 * day).toISOString() }),
    );
    await processor.processBatch({ events: [...old, ...recent] });
    const repository = testApp.app.get(RequestLogsRepository);
    expect(await deleteExpiredRequestLogs(repository, 7)).toBe(3);
    expect(await count()).toBe(2);

    const older = sampleRequestEvent({ timestamp: new Date(Date.now() - 3 * day).toISOString() });
    await processor.processBatch({ events: [older] });
    const retention = new RequestLogRetention(repository, logger, {
      redisUrl: TEST_REDIS_URL,
      prefix: names.bullmqPrefix,
      retentionDays: 2,
      everyMs: 200,
    });
    await retention.start();
    try {
      await waitFor(async () => (await count()) === 0, { message: 'the scheduled retention job did not run' });
    } finally {
      await retention.close();
    }
  });

  it('ends open live tails when the API shuts down (an SSE connection must not keep the server open)', async () => {
    const other = await createTestApp();
    const server = other.app.getHttpServer() as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const stream = await SseClient.connect(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/request-logs/stream`,
      { authorization: `Bearer ${viewerKey}` },
    );
    streams.push(stream);
    await waitFor(() => stream.comments.includes('connected'));
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
