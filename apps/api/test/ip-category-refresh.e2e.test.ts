import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../src/env';
import { IpCategoryResponseSchema } from '../src/ip-categories/ip-categories.dto';
import { maxRangeListBytes, parseRangeList, RangeListError } from '../src/ip-categories/ip-category-refresh';
import { IpCategoryRefreshService } from '../src/ip-categories/ip-category-refresh.service';
import { bodyOf, errorOf } from './http';
import { createTestApp, loginAs, resetState, setupAdmin, type TestApp } from './test-app';

/**
 * GATEHOUSE_IP_CATEGORY_SOURCES end to end: a real HTTP server publishes a range list in OpenAI's format
 * (chatgpt-connectors.json), the API refreshes the built-in category from it on real Postgres, publishes the change
 * through the config outbox, and keeps the last good list whenever a refresh fails or brings bad data.
 */
describe('IP category refresh from published lists', () => {
  const category = `com.example.connectors-${process.pid}`;
  const fileCategory = `com.example.file-list-${process.pid}`;
  let published: { status: number; body: string } = {
    status: 200,
    body: JSON.stringify({
      creationTime: '2026-12-01T00:00:00.000000',
      prefixes: [{ ipv4Prefix: '192.0.2.0/28' }, { ipv6Prefix: '2001:db8:1::/48' }],
    }),
  };
  let server: Server;
  let directory: string;
  let testApp: TestApp;
  let viewer: Agent;

  const refresh = () => testApp.app.get(IpCategoryRefreshService).refreshNow();
  const stored = async (name = category) =>
    bodyOf(await viewer.get(`/api/ip-categories/${name}`).expect(200), IpCategoryResponseSchema);
  const changesOf = async (name: string) =>
    Number(
      (
        await testApp.db.query<{ count: string }>(
          "SELECT count(*) FROM config_changes WHERE kind = 'ip_category.upserted' AND entity_id = $1",
          [name],
        )
      ).rows[0]?.count,
    );

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(published.status, { 'content-type': 'application/json' }).end(published.body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    directory = mkdtempSync(join(tmpdir(), 'gatehouse-ranges-'));
    writeFileSync(join(directory, 'office.txt'), '# our office\n198.51.100.0/24\n2001:db8:2::/48 # VPN\n');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chatgpt-connectors.json`;
    testApp = await createTestApp({
      GATEHOUSE_IP_CATEGORY_SOURCES: `${category}=${url}, ${fileCategory}=${join(directory, 'office.txt')}`,
      GATEHOUSE_IP_CATEGORY_SOURCES_ALLOW_HTTP: 'true',
    });
    // The app starts a refresh at boot; let it finish first, or its writes race the TRUNCATE below (a deadlock).
    await refresh();
    await resetState(testApp);
    viewer = await loginAs(testApp, await setupAdmin(testApp), 'editor');
  });

  afterAll(async () => {
    await testApp?.close();
    server?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('stores a published list as a read-only built-in category and publishes the change', async () => {
    const outcomes = await refresh();
    expect(outcomes.find((outcome) => outcome.name === category)?.result).not.toBe('failed');
    expect(await stored()).toMatchObject({ cidrs: ['192.0.2.0/28', '2001:db8:1::/48'], builtin: true });
    expect(await stored(fileCategory)).toMatchObject({ cidrs: ['198.51.100.0/24', '2001:db8:2::/48'], builtin: true });
    expect(await changesOf(category)).toBeGreaterThanOrEqual(1);
    const refused = await viewer.put(`/api/ip-categories/${category}`).send({ cidrs: ['0.0.0.0/0'] });
    expect(refused.status).toBe(403);
    expect(errorOf(refused).error_code).toBe('IP_CATEGORY_BUILTIN');
  });

  it('writes nothing when the list did not change', async () => {
    await refresh();
    const before = await changesOf(category);
    const outcomes = await refresh();
    expect(outcomes.find((outcome) => outcome.name === category)?.result).toBe('unchanged');
    expect(await changesOf(category)).toBe(before);
  });

  it('takes a new list when the publisher changes it', async () => {
    published = { status: 200, body: JSON.stringify({ prefixes: [{ ipv4Prefix: '192.0.2.16/28' }] }) };
    const outcomes = await refresh();
    expect(outcomes.find((outcome) => outcome.name === category)?.result).toBe('updated');
    expect((await stored()).cidrs).toEqual(['192.0.2.16/28']);
  });

  it.each([
    ['a server error', { status: 500, body: 'oops' }],
    ['a redirect (never followed: it could leave https)', { status: 302, body: '' }],
    ['an invalid CIDR', { status: 200, body: JSON.stringify({ prefixes: [{ ipv4Prefix: '192.0.2.300/28' }] }) }],
    ['one bad entry among good ones', { status: 200, body: JSON.stringify(['192.0.2.0/24', 'everyone']) }],
    ['an empty list', { status: 200, body: JSON.stringify({ creationTime: 'x', prefixes: [] }) }],
    ['an HTML page', { status: 200, body: '<!doctype html><html><body>Sign in to the Wi-Fi</body></html>' }],
    ['JSON of another shape', { status: 200, body: JSON.stringify({ ranges: ['192.0.2.0/24'] }) }],
    ['truncated JSON', { status: 200, body: '{"prefixes": [{"ipv4Prefix": "192.0.2.0/24"' }],
    ['an oversized list', { status: 200, body: `${'192.0.2.0/24\n'.repeat(maxRangeListBytes / 13 + 1)}` }],
  ])('keeps the last good list on %s', async (_what, answer) => {
    published = { status: 200, body: JSON.stringify({ prefixes: [{ ipv4Prefix: '192.0.2.16/28' }] }) };
    await refresh();
    const before = await changesOf(category);
    published = answer;
    const outcomes = await refresh();
    const outcome = outcomes.find((candidate) => candidate.name === category);
    expect(outcome?.result).toBe('failed');
    expect(outcome?.error).toBeTruthy();
    expect((await stored()).cidrs).toEqual(['192.0.2.16/28']);
    expect(await changesOf(category)).toBe(before);
    // The other source is not affected by this one's failure.
    expect(outcomes.find((candidate) => candidate.name === fileCategory)?.result).toBe('unchanged');
  });

  it('keeps the last good list when the publisher is unreachable', async () => {
    const app = await createTestApp({
      GATEHOUSE_IP_CATEGORY_SOURCES: `${category}=https://127.0.0.1:1/chatgpt-connectors.json`,
    });
    try {
      const outcomes = await app.app.get(IpCategoryRefreshService).refreshNow();
      expect(outcomes).toHaveLength(1);
      expect(outcomes[0]).toMatchObject({ name: category, result: 'failed' });
      expect(outcomes[0]?.error).toBeTruthy();
      expect((await stored()).cidrs).toEqual(['192.0.2.16/28']);
    } finally {
      await app.close();
    }
  });

  it('never takes over a custom category of the same name', async () => {
    await viewer
      .put('/api/ip-categories/com.example.ours')
      .send({ cidrs: ['203.0.113.0/24'] })
      .expect(200);
    const app = await createTestApp({
      GATEHOUSE_IP_CATEGORY_SOURCES: `com.example.ours=${join(directory, 'office.txt')}`,
    });
    try {
      const outcomes = await app.app.get(IpCategoryRefreshService).refreshNow();
      expect(outcomes[0]).toMatchObject({ name: 'com.example.ours', result: 'failed' });
      expect(await stored('com.example.ours')).toMatchObject({ cidrs: ['203.0.113.0/24'], builtin: false });
    } finally {
      await app.close();
    }
  });
});

describe('GATEHOUSE_IP_CATEGORY_SOURCES', () => {
  const parse = (value: string, allowHttp?: string) =>
    parseEnv({
      GATEHOUSE_IP_CATEGORY_SOURCES: value,
      ...(allowHttp === undefined ? {} : { GATEHOUSE_IP_CATEGORY_SOURCES_ALLOW_HTTP: allowHttp }),
    });

  it('accepts https URLs and files, and parses them into sources', () => {
    expect(
      parse('com.openai.chatgpt.connectors=https://openai.com/chatgpt-connectors.json, a.b=/etc/ranges.txt')
        .GATEHOUSE_IP_CATEGORY_SOURCES,
    ).toEqual([
      { name: 'com.openai.chatgpt.connectors', location: 'https://openai.com/chatgpt-connectors.json' },
      { name: 'a.b', location: '/etc/ranges.txt' },
    ]);
    expect(parse('').GATEHOUSE_IP_CATEGORY_SOURCES).toEqual([]);
  });

  it('refuses plain http unless explicitly allowed, and anything that is not category=location', () => {
    expect(() => parse('a.b=http://example.com/list.json')).toThrow(/plain http/);
    expect(parse('a.b=http://example.com/list.json', 'true').GATEHOUSE_IP_CATEGORY_SOURCES).toHaveLength(1);
    expect(() => parse('a.b=ftp://example.com/list')).toThrow(/unsupported scheme/);
    expect(() => parse('https://example.com/list.json')).toThrow(/category=location/);
    expect(() => parse('Bad Name=https://example.com/x')).toThrow(/category=location/);
    expect(() => parse('a.b=https://example.com/x,a.b=https://example.com/y')).toThrow(/named twice/);
    expect(() => parse('a.b=relative/path.txt')).toThrow(/not a URL/);
  });
});

describe('parseRangeList', () => {
  it('reads the published formats', () => {
    expect(parseRangeList('{"prefixes":[{"ipv4Prefix":"192.0.2.0/24"},{"ipv6Prefix":"2001:db8::/32"}]}')).toEqual([
      '192.0.2.0/24',
      '2001:db8::/32',
    ]);
    expect(parseRangeList('["192.0.2.0/24","192.0.2.0/24"]')).toEqual(['192.0.2.0/24']);
    expect(parseRangeList('{"cidrs":["192.0.2.1"]}')).toEqual(['192.0.2.1']);
    expect(parseRangeList('192.0.2.0/24\n\n# comment\n2001:db8::/32 # trailing\n')).toEqual([
      '192.0.2.0/24',
      '2001:db8::/32',
    ]);
  });

  it('rejects anything it cannot fully trust', () => {
    for (const text of ['', '[]', '{"prefixes":[{"other":"x"}]}', '[1,2]', 'not a cidr', '192.0.2.0/33'])
      expect(() => parseRangeList(text), text).toThrow(RangeListError);
  });
});
