import { createHash } from 'node:crypto';
import type { ConfigChangeEvent, ConfigSnapshot, SyncEndpoint } from '@gatehouse/contracts';
import { describe, expect, it } from 'vitest';
import {
  applyChanges,
  applySnapshot,
  CompiledPolicyCache,
  compileDeferred,
  emptyRuntimeConfig,
  isUncompilablePolicy,
  routeByHost,
  snapshotOf,
} from './runtime-config.js';
import { runRequestPhase } from '../proxy/policy-chain.js';
import { memorySharedPorts } from '../../test/helpers/shared-ports.js';

const shared = memorySharedPorts();
const deny = (status: number) =>
  `on_http_request:\n  - actions:\n      - type: deny\n        config: { status_code: ${status} }\n`;

function endpoint(
  id: string,
  url: string,
  policy: string | null = deny(403),
  { policy_version: version = 1, ...extra }: Partial<SyncEndpoint> & { policy_version?: number } = {},
): SyncEndpoint {
  const parsed = new URL(url);
  const internal = parsed.hostname.endsWith('.internal');
  return {
    id,
    url,
    type: internal ? 'internal' : 'cloud',
    proto: parsed.protocol === 'https:' ? 'https' : 'http',
    host: parsed.hostname,
    port: parsed.protocol === 'https:' ? 443 : 80,
    upstream_url: internal ? 'http://127.0.0.1:9' : null,
    upstream_host_header: 'preserve',
    request_log_capture: { headers: false, bodies: false },
    policy_rejected: null,
    agent: null,
    shadow_policy: null,
    policy:
      policy === null
        ? null
        : {
            version,
            sha256: createHash('sha256').update(policy).digest('hex'),
            source: policy,
          },
    ...extra,
  };
}

function change(
  revision: number,
  kind: ConfigChangeEvent['kind'],
  entityId: string,
  endpoint: SyncEndpoint | null,
): ConfigChangeEvent {
  return {
    revision,
    kind,
    entity_id: entityId,
    endpoint,
    ip_category: null,
    created_at: '2026-11-24T00:00:00Z',
  };
}

function snapshot(endpoints: SyncEndpoint[], revision = 1): ConfigSnapshot {
  return {
    revision,
    generated_at: '2026-11-24T00:00:00Z',
    endpoints,
    ip_categories: [{ name: 'office', cidrs: ['10.0.0.0/8'], description: 'Office', builtin: false }],
  };
}

describe('runtime config', () => {
  it('routes exact hosts first, then the most specific wildcard, preferring the scheme of the connection', () => {
    const { config, errors } = applySnapshot(
      emptyRuntimeConfig(shared),
      snapshot([
        endpoint('ep_exact', 'https://api.example.com'),
        endpoint('ep_wild', 'https://*.example.com'),
        endpoint('ep_deep', 'https://*.eu.example.com'),
        endpoint('ep_plain', 'http://both.example.org'),
        endpoint('ep_tls', 'https://both.example.org'),
        endpoint('ep_internal', 'https://svc.internal', null),
      ]),
      shared,
    );
    expect(errors).toEqual([]);
    const route = (host: string, scheme: 'http' | 'https' = 'https') => routeByHost(config, host, scheme)?.synced.id;
    expect(route('api.example.com')).toBe('ep_exact');
    expect(route('other.example.com')).toBe('ep_wild');
    expect(route('a.b.example.com')).toBe('ep_wild');
    expect(route('x.eu.example.com')).toBe('ep_deep');
    expect(route('example.com')).toBeUndefined();
    expect(route('both.example.org', 'http')).toBe('ep_plain');
    expect(route('both.example.org', 'https')).toBe('ep_tls');
    expect(route('svc.internal')).toBeUndefined();
    expect(config.internalByUrl.get('https://svc.internal')?.synced.id).toBe('ep_internal');
    expect(config.ports.internalEndpoints.has('https://svc.internal')).toBe(true);
    expect(config.ports.ipCategories.categoriesOf('10.1.1.1')).toEqual(['office']);
  });

  it('compiles on_tcp_connect for an agent endpoint on a public URL, and refuses it on a .internal one', () => {
    const connect =
      'on_tcp_connect:\n  - expressions: ["conn.client_ip == \'192.0.2.1\'"]\n    actions: [{ type: deny }]\n';
    const agent = (id: string, url: string): SyncEndpoint => ({
      ...endpoint(id, url, connect),
      type: 'agent',
      upstream_url: null,
      agent: { pooling_enabled: false, members: [{ session_id: 'as_1', upstream: 'http://127.0.0.1:3000' }] },
    });
    const cache = new CompiledPolicyCache();
    const { config } = applySnapshot(
      emptyRuntimeConfig(shared),
      // The same text on both: one compiled form must not be reused for the other (the cache key says which).
      snapshot([agent('ep_public', 'https://laptop.example.com'), agent('ep_private', 'https://laptop.team.internal')]),
      shared,
      cache,
    );
    expect(config.endpointsById.get('ep_public')?.policy?.phases.on_tcp_connect).toHaveLength(1);
    expect(config.failures.get('ep_private')).toMatch(/POLICY_PHASE_NOT_ALLOWED|on_tcp_connect/);
    // Booted from last-known-good, the compile on first read follows the same rules.
    const { config: booted } = applySnapshot(
      emptyRuntimeConfig(shared),
      snapshot([agent('ep_public', 'https://laptop.example.com')]),
      shared,
      new CompiledPolicyCache(),
      { deferCompile: true },
    );
    const deferred = routeByHost(booted, 'laptop.example.com', 'https');
    expect(deferred?.deferred).toBe(true);
    expect(deferred?.policy?.phases.on_tcp_connect).toHaveLength(1);
  });

  it('recompiles only what changed and never mutates the previous config', () => {
    const endpoints = Array.from({ length: 10_000 }, (_, index) =>
      endpoint(`ep_${index}`, `https://host-${index}.example.com`, deny(400 + (index % 50))),
    );
    const { config: first } = applySnapshot(emptyRuntimeConfig(shared), snapshot(endpoints), shared);
    expect(first.endpointsById.size).toBe(10_000);
    // Identical policy texts on many endpoints compile once.
    expect(first.endpointsById.get('ep_0')?.policy).toBe(first.endpointsById.get('ep_50')?.policy);

    const { config: second } = applyChanges(
      first,
      [change(2, 'endpoint.upserted', 'ep_7', endpoint('ep_7', 'https://moved.example.com', deny(499)))],
      shared,
    );
    expect(second.revision).toBe(2);
    expect(second.endpointsById.get('ep_8')).toBe(first.endpointsById.get('ep_8'));
    expect(routeByHost(second, 'moved.example.com', 'https')?.synced.id).toBe('ep_7');
    expect(routeByHost(second, 'host-7.example.com', 'https')).toBeUndefined();
    // The old config is untouched: requests that started on it finish on it.
    expect(routeByHost(first, 'host-7.example.com', 'https')?.synced.id).toBe('ep_7');
    expect(routeByHost(first, 'moved.example.com', 'https')).toBeUndefined();

    // A new snapshot reuses compiled policies of unchanged endpoints.
    const { config: third } = applySnapshot(second, snapshot(endpoints.slice(0, 100), 3), shared);
    expect(third.endpointsById.size).toBe(100);
    expect(third.endpointsById.get('ep_1')?.policy).toBe(first.endpointsById.get('ep_1')?.policy);
  });

  it('keeps the running policy of an endpoint whose new policy does not compile, and reports it', () => {
    const { config: first } = applySnapshot(
      emptyRuntimeConfig(shared),
      snapshot([endpoint('ep_a', 'https://a.example.com')]),
      shared,
    );
    const broken = endpoint('ep_a', 'https://a.example.com', 'on_http_request: {}', { policy_version: 2 });
    const { config: second, errors } = applyChanges(first, [change(2, 'endpoint.upserted', 'ep_a', broken)], shared);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/ep_a .*policy version 2: policy does not compile: POLICY_SCHEMA_INVALID/);
    expect(second.endpointsById.get('ep_a')).toBe(first.endpointsById.get('ep_a'));
    expect(second.failures.get('ep_a')).toBe(errors[0]);
    // A snapshot carrying the same broken policy still keeps the old one running.
    const { config: third } = applySnapshot(second, snapshot([broken], 3), shared);
    expect(third.endpointsById.get('ep_a')).toBe(first.endpointsById.get('ep_a'));
    // Deleting the endpoint clears the failure.
    const { config: fourth } = applyChanges(third, [change(4, 'endpoint.deleted', 'ep_a', null)], shared);
    expect(fourth.failures.size).toBe(0);
    expect(fourth.endpointsById.size).toBe(0);
  });

  it('does not serve a new endpoint until it has a valid policy, and rejects bad upstream URLs', () => {
    const { config, errors } = applySnapshot(
      emptyRuntimeConfig(shared),
      snapshot([
        endpoint('ep_new', 'https://new.example.com', 'not: [valid'),
        endpoint('ep_up', 'https://up.internal', null, { upstream_url: 'ftp://x' }),
      ]),
      shared,
    );
    expect(errors).toHaveLength(2);
    expect(routeByHost(config, 'new.example.com', 'https')).toBeUndefined();
    expect(config.internalByUrl.size).toBe(0);
  });

  it('round-trips through a contract-shaped snapshot', () => {
    const endpoints = [endpoint('ep_a', 'https://a.example.com'), endpoint('ep_i', 'https://i.internal', null)];
    const { config } = applySnapshot(emptyRuntimeConfig(shared), snapshot(endpoints, 9), shared);
    const again = snapshotOf(config);
    expect(again.revision).toBe(9);
    expect(again.endpoints).toEqual(endpoints);
    expect(again.ip_categories).toEqual([
      { name: 'office', cidrs: ['10.0.0.0/8'], description: 'Office', builtin: false },
    ]);
  });

  it('compiles a policy once per (endpoint type, sha256) across builds, and skips an unchanged sha256', () => {
    const store = new CompiledPolicyCache();
    const { config: first } = applySnapshot(
      emptyRuntimeConfig(shared),
      snapshot([endpoint('ep_a', 'https://a.example.com', deny(401))]),
      shared,
      store,
    );
    // A later change handing another endpoint the same policy reuses the compiled one (a separate build).
    const { config: second } = applyChanges(
      first,
      [change(2, 'endpoint.upserted', 'ep_b', endpoint('ep_b', 'https://b.example.com', deny(401)))],
      shared,
      store,
    );
    const compiled = second.endpointsById.get('ep_a')?.policy;
    expect(compiled).toBeDefined();
    expect(second.endpointsById.get('ep_b')?.policy).toBe(compiled);
    // The same text on an internal endpoint compiles separately (the endpoint type is part of the key).
    const { config: third } = applyChanges(
      second,
      [change(3, 'endpoint.upserted', 'ep_i', endpoint('ep_i', 'https://i.internal', deny(401)))],
      shared,
      store,
    );
    expect(third.endpointsById.get('ep_i')?.policy).toBeDefined();
    expect(third.endpointsById.get('ep_i')?.policy).not.toBe(compiled);
    // A new version with the same sha256 (e.g. a rollback to identical text) keeps the compiled policy, without a
    // shared cache too.
    const bumped = endpoint('ep_a', 'https://a.example.com', deny(401), { policy_version: 7 });
    const { config: fourth } = applyChanges(third, [change(4, 'endpoint.upserted', 'ep_a', bumped)], shared);
    expect(fourth.endpointsById.get('ep_a')?.policy).toBe(compiled);
    expect(fourth.endpointsById.get('ep_a')?.synced.policy?.version).toBe(7);
    // A different sha256 compiles the new text.
    const changed = endpoint('ep_a', 'https://a.example.com', deny(402), { policy_version: 8 });
    const { config: fifth } = applyChanges(fourth, [change(5, 'endpoint.upserted', 'ep_a', changed)], shared, store);
    expect(fifth.endpointsById.get('ep_a')?.policy).not.toBe(compiled);
  });

  it('keeps at most `capacity` compiled policies, compiles an evicted one again on its next read, and prefers the ones read', () => {
    const cache = new CompiledPolicyCache(2);
    const endpoints = [401, 402, 403, 404].map((status, index) =>
      endpoint(`ep_${index}`, `https://h${index}.example.com`, deny(status)),
    );
    const { config, errors } = applySnapshot(emptyRuntimeConfig(shared), snapshot(endpoints), shared, cache);
    expect(errors).toEqual([]);
    // Every policy was checked; only the first two stayed compiled (checks never evict).
    expect(cache.residentCount).toBe(2);
    expect(cache.compiles).toEqual({ checks: 4, reads: 0 });
    const read = (id: string) => config.endpointsById.get(id)!.policy!;
    const first = read('ep_0');
    expect(read('ep_0')).toBe(first);
    expect(cache.compiles.reads).toBe(0);
    // ep_2 is not resident: reading it compiles it and evicts ep_1, the one not read since it was compiled.
    const third = read('ep_2');
    expect(third.phases.on_http_request).toHaveLength(1);
    expect(cache.compiles.reads).toBe(1);
    expect(cache.residentCount).toBe(2);
    expect(read('ep_0')).toBe(first);
    expect(cache.compiles.reads).toBe(1);
    // An evicted policy comes back as an equal compile of the same text.
    const second = read('ep_1');
    expect(cache.compiles.reads).toBe(2);
    expect(second.phases.on_http_request[0]?.actions[0]?.type).toBe('deny');
    expect(cache.residentCount).toBe(2);
    // A spread copy (as the ai-gateway response path makes) still carries the policy.
    expect({ ...config.endpointsById.get('ep_3')! }.policy?.phases.on_http_request).toHaveLength(1);
  });

  describe('deferred compile (booting from last-known-good)', () => {
    // Text that passes the data plane's checks (sha256, not empty) but does not compile, as a policy stored by an
    // older build could after an upgrade.
    const broken = 'on_http_request:\n  - actions:\n      - type: no-such-action\n';

    it('builds routing without compiling, compiles a policy on its first read, and the background pass the rest', async () => {
      const cache = new CompiledPolicyCache();
      const endpoints = [
        endpoint('ep_a', 'https://a.example.com', deny(401)),
        endpoint('ep_b', 'https://b.example.com'),
      ];
      const { config, errors } = applySnapshot(emptyRuntimeConfig(shared), snapshot(endpoints), shared, cache, {
        deferCompile: true,
      });
      expect(errors).toEqual([]);
      expect(cache.residentCount).toBe(0);
      const a = routeByHost(config, 'a.example.com', 'https');
      expect(a?.deferred).toBe(true);
      const compiled = a?.policy;
      expect(compiled?.phases.on_http_request).toHaveLength(1);
      expect(a?.policy).toBe(compiled);
      expect(cache.residentCount).toBe(1);

      const result = await compileDeferred(config, shared, cache);
      expect(result?.errors).toEqual([]);
      const after = result!.config;
      expect([...after.endpointsById.values()].filter((loaded) => loaded.deferred === true)).toEqual([]);
      // The one read already compiled is not compiled again.
      expect(after.endpointsById.get('ep_a')?.policy).toBe(compiled);
      expect(after.endpointsById.get('ep_b')?.policy?.phases.on_http_request).toHaveLength(1);
      expect(await compileDeferred(after, shared, cache)).toBeUndefined();
    });

    it('fails closed while a stored policy no longer compiles, then stops serving the endpoint and reports it', async () => {
      const { config } = applySnapshot(
        emptyRuntimeConfig(shared),
        snapshot([endpoint('ep_x', 'https://x.example.com', broken)]),
        shared,
        new CompiledPolicyCache(),
        { deferCompile: true },
      );
      const loaded = routeByHost(config, 'x.example.com', 'https')!;
      expect(isUncompilablePolicy(loaded.policy)).toBe(true);
      // Answered and logged as the background pass will report it, not as some policy's custom response.
      const answered = await runRequestPhase(
        {
          config,
          endpoint: loaded,
          request: {
            method: 'GET',
            scheme: 'https',
            host: 'x.example.com',
            port: '443',
            path: '/',
            query: '',
            headers: new Map(),
          },
          connection: { clientIp: '127.0.0.1', clientPort: 50_000, serverIp: '127.0.0.1', serverPort: 443 },
          body: undefined,
        },
        4,
      );
      expect(answered).toMatchObject({ kind: 'respond', errorCode: 'ENDPOINT_CONFIG_INVALID' });
      expect(answered.kind === 'respond' && answered.response.status).toBe(503);
      const result = await compileDeferred(config, shared, new CompiledPolicyCache());
      expect(routeByHost(result!.config, 'x.example.com', 'https')).toBeUndefined();
      expect(result!.config.unservedHosts.get('x.example.com')).toBe('ep_x');
      expect(result!.errors.join()).toMatch(/ep_x.*not served until a valid policy arrives/);
    });

    it('compiles an endpoint a change replaces at once, and never reuses a deferred entry', () => {
      const cache = new CompiledPolicyCache();
      const { config } = applySnapshot(
        emptyRuntimeConfig(shared),
        snapshot([endpoint('ep_a', 'https://a.example.com', deny(401))]),
        shared,
        cache,
        { deferCompile: true },
      );
      const bumped = endpoint('ep_a', 'https://a.example.com', deny(401), { policy_version: 2 });
      const { config: next } = applyChanges(config, [change(2, 'endpoint.upserted', 'ep_a', bumped)], shared, cache);
      expect(next.endpointsById.get('ep_a')?.deferred).toBeUndefined();
      expect(next.endpointsById.get('ep_a')?.policy).toBeDefined();
    });
  });
});
