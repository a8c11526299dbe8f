import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './test-app';

describe('the API serves the built dashboard at /', () => {
  let testApp: TestApp;
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'gatehouse-dashboard-'));
    await mkdir(join(directory, 'assets'));
    await writeFile(join(directory, 'index.html'), '<!doctype html><title>Gatehouse</title><div id="root"></div>');
    await writeFile(join(directory, 'assets', 'app-3f2a.js'), 'console.log("app")');
    testApp = await createTestApp({ GATEHOUSE_DASHBOARD_DIR: directory });
  });
  afterAll(async () => {
    await testApp.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('answers / and in-app links with index.html, never cached', async () => {
    for (const path of ['/', '/endpoints/ep_123/policy', '/request-logs?status=4xx']) {
      const response = await testApp.http().get(path).expect(200);
      expect(response.headers['content-type']).toMatch(/text\/html/);
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.text).toContain('<title>Gatehouse</title>');
    }
  });

  it('serves fingerprinted assets with their own type', async () => {
    const response = await testApp.http().get('/assets/app-3f2a.js').expect(200);
    expect(response.headers['content-type']).toMatch(/javascript/);
  });

  it('leaves /api alone: unknown API paths are JSON 404s and protected routes still refuse', async () => {
    const unknown = await testApp.http().get('/api/no-such-route').expect(404);
    expect(unknown.headers['content-type']).toMatch(/application\/json/);
    await testApp.http().get('/api/endpoints').expect(401);
  });

  it('does not answer writes with the page', async () => {
    const response = await testApp.http().post('/settings').send({});
    expect(response.status).toBe(404);
  });
});
