import { hash } from 'node:crypto';
import {
  isInternalHost,
  parseEndpointUrl,
  policyOptionsFor,
  type ConfigChangeEvent,
  type ConfigSnapshot,
  type SyncAgentEndpoint,
  type SyncEndpoint,
  type SyncIpCategory,
} from '@gatehouse/contracts';
import { openFromControlPlane } from '@gatehouse/runtime';
import { LayeredMap } from './layered-map.js';
import {
  compile,
  createIpCategoryIndex,
  parse,
  PolicyCompileError,
  secretKey,
  type CompiledPolicy,
  type SecretValues,
  type EndpointFacts,
  type IpCategoryResolver,
  type AiProviders,
  type HttpRequester,
  type PolicyPorts,
} from '@gatehouse/traffic-policy';

/**
 * The running configuration: an immutable value built off to the side and swapped in with one assignment
 * (`ConfigStore.current`). A request reads it once and keeps that snapshot to the end, so a change never shows up
 * half-way through a request. Building the next value copies the maps and recompiles only the endpoints whose policy
 * text changed, which keeps a single change cheap with 10,000 endpoints loaded.
 */

/** Where an internal endpoint's traffic goes. */
export interface UpstreamTarget {
  /** scheme://host:port, the key of the keep-alive pool. */
  readonly origin: string;
  /** The host[:port] sent as `Host` when the endpoint says `rewrite`. */
  readonly host: string;
  /** Path prefix of upstream_url without a trailing slash ('' for none). */
  readonly basePath: string;
}

export interface LoadedEndpoint {
  readonly synced: SyncEndpoint;
  readonly facts: EndpointFacts;
  readonly scheme: 'http' | 'https';
  /** Undefined when the endpoint has no policy (an internal endpoint that only passes traffic through). */
  readonly policy: CompiledPolicy | undefined;
  /** Internal endpoints with an upstream_url; agent endpoints: their own URL, reached through the agent's tunnel. */
  readonly upstream: UpstreamTarget | undefined;
  /** Agent endpoints: the sessions serving it (requests go over a tunnel, never dialled). */
  readonly agent: SyncAgentEndpoint | undefined;
  /** The shadow policy evaluated beside `policy` without being enforced (issue 17 item 3); undefined when none. */
  readonly shadow: ShadowPolicy | undefined;
  /**
   * True when the policy was not yet checked to compile (`policy` compiles it on its first read): only endpoints booted
   * from the last-known-good file, until the background pass (`compileDeferred`) replaces them with checked ones.
   */
  readonly deferred?: true;
  /**
   * Where `policy` comes from for a policy kept by its text (every one without secrets): the compiled form lives in the
   * bounded `CompiledPolicyCache` and is compiled again on a read after it was evicted. Undefined for no policy and
   * for a policy with secrets (held compiled by the endpoint itself).
   */
  readonly policySlot?: PolicySlot;
}

export interface ShadowPolicy {
  readonly sha256: string;
  readonly policy: CompiledPolicy;
}

/**
 * Which agent sessions this data plane holds a tunnel of (the tunnel registry): an agent endpoint none of whose
 * members is connected here is offline, and forward-internal says ENDPOINT_OFFLINE instead of forwarding.
 */
export interface AgentPresence {
  serves(agent: SyncAgentEndpoint): boolean;
}

/**
 * One policy text as one endpoint type compiles it, shared by every endpoint (and config build) that runs it. The
 * compiled form is kept only while the cache has room for it: a data plane with 10,000 endpoints held about 55 MB of
 * compiled policies (≈5.5 KB each for the walkthrough policy) although most endpoints serve no traffic at a time.
 * An evicted policy compiles again on its next read (≈0.3 ms for the walkthrough policy); its text, which the
 * last-known-good file needs anyway, is all that stays.
 */
export class PolicySlot {
  /** The compiled form while resident in the cache. */
  compiled: CompiledPolicy | undefined;
  /** Set by every read: the cache's clock sweep gives a referenced policy a second chance before evicting it. */
  referenced = false;
  /** The text compiled at least once here; reads after that never meet a compile error (same text, same compiler). */
  checked = false;

  constructor(
    readonly key: string,
    readonly text: string,
    readonly endpoint: Pick<SyncEndpoint, 'type' | 'url'>,
    private readonly cache: CompiledPolicyCache,
  ) {}

  /** The compiled policy, compiling it when it is not resident. Fails closed when the text does not compile. */
  read(): CompiledPolicy {
    const compiled = this.compiled;
    if (compiled !== undefined) {
      this.referenced = true;
      return compiled;
    }
    const result = this.cache.compile(this, true);
    return typeof result === 'string' ? uncompilablePolicy() : result;
  }
}

/**
 * Policies by (endpoint type, policy sha256), shared across config builds: 10,000 endpoints carrying the same policy
 * compile it once, and so does a change that hands an endpoint a policy another endpoint already runs. Safe because a
 * compiled policy is immutable and holds no per-endpoint state (rate-limit and circuit-breaker state is keyed by
 * `request.endpoint.id` at run time, in the shared ports). At most `capacity` compiled forms are resident; beyond
 * that the least recently read one (clock approximation) is dropped. Compiles that only check a policy (a config
 * build, the background pass after a last-known-good boot) are kept only while there is room, so checking 10,000
 * policies does not push out the ones serving traffic. Slots no endpoint uses any more are pruned when the cache
 * grows well past the endpoint count.
 */
export class CompiledPolicyCache {
  readonly #slots = new Map<string, PolicySlot>();
  /** Resident slots in clock order (Map insertion order; a second chance moves a slot to the end). */
  readonly #resident = new Set<PolicySlot>();
  readonly capacity: number;
  /** Compiles since this cache was made: `checks` for building configs, `reads` for a policy read while not resident. */
  readonly compiles = { checks: 0, reads: 0 };

  /** `capacity`: compiled policies kept; the default keeps every one (tests, embedders that do not say). */
  constructor(capacity = Number.POSITIVE_INFINITY) {
    if (!(capacity >= 1)) throw new Error('a compiled-policy cache holds at least one policy');
    this.capacity = capacity;
  }

  /** A policy compiles differently per type, and for an agent endpoint per URL (public ones allow on_tcp_connect). */
  static key(endpoint: Pick<SyncEndpoint, 'type' | 'url'>, sha256: string): string {
    const connect = policyOptionsFor(endpoint.type, endpoint.url).acceptsConnections ? '+connect' : '';
    return `${endpoint.type}${connect}:${sha256}`;
  }

  /** Slots known (compiled or not). */
  get size(): number {
    return this.#slots.size;
  }

  /** Compiled policies held. */
  get residentCount(): number {
    return this.#resident.size;
  }

  /** The compiled policy under `key` when resident. */
  get(key: string): CompiledPolicy | undefined {
    return this.#slots.get(key)?.compiled;
  }

  /** The slot for a policy text, made when new. */
  slot(key: string, text: string, endpoint: Pick<SyncEndpoint, 'type' | 'url'>): PolicySlot {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = new PolicySlot(key, text, { type: endpoint.type, url: endpoint.url }, this);
      this.#slots.set(key, slot);
    }
    return slot;
  }

  /**
   * Compiles a slot's text. `forRead`: a request needs it now, so it becomes resident and evicts the coldest one when
   * full; otherwise (checking a policy) it stays only when there is room. Answers the compile error as text.
   */
  compile(slot: PolicySlot, forRead: boolean): CompiledPolicy | string {
    if (slot.compiled !== undefined) return slot.compiled;
    let policy: CompiledPolicy;
    try {
      policy = compile(parse(slot.text), policyOptionsFor(slot.endpoint.type, slot.endpoint.url));
    } catch (error) {
      return describeCompileError(error);
    }
    if (forRead) this.compiles.reads++;
    else this.compiles.checks++;
    slot.checked = true;
    this.#admit(slot, policy, forRead);
    return policy;
  }

  #admit(slot: PolicySlot, policy: CompiledPolicy, evict: boolean): void {
    if (this.#resident.size >= this.capacity) {
      if (!evict) return;
      this.#evictOne();
    }
    slot.compiled = policy;
    slot.referenced = false;
    this.#resident.add(slot);
  }

  /** Clock sweep: a slot read since the last pass moves to the back unreferenced; the first unreferenced one goes. */
  #evictOne(): void {
    for (;;) {
      const slot = this.#resident.values().next().value;
      if (slot === undefined) return;
      this.#resident.delete(slot);
      if (slot.referenced) {
        slot.referenced = false;
        this.#resident.add(slot);
        continue;
      }
      slot.compiled = undefined;
      return;
    }
  }

  /** Keeps only the slots `endpoints` run, once the cache holds far more of them than there are endpoints. */
  prune(endpoints: Iterable<LoadedEndpoint>, endpointCount: number): void {
    if (this.#slots.size <= 2 * endpointCount + 1_024) return;
    const live = new Set<PolicySlot>();
    for (const endpoint of endpoints) {
      if (endpoint.policySlot !== undefined) live.add(endpoint.policySlot);
    }
    for (const [key, slot] of this.#slots) {
      if (live.has(slot)) continue;
      this.#slots.delete(key);
      if (this.#resident.delete(slot)) slot.compiled = undefined;
    }
  }
}

/**
 * Builds the http-request port of one runtime config (`.internal` URLs resolve against that config's endpoints).
 * Declared here, not beside its implementation (ports/http-side-calls.ts), which needs this module's types.
 */
export interface SideCallPorts {
  forConfig(config: () => RuntimeConfig): HttpRequester;
}

/** The per-config ports; the shared ones (clock, counters, JWKS, breakers) come from the data plane. */
export type SharedPorts = Omit<PolicyPorts, 'ipCategories' | 'internalEndpoints' | 'httpRequests' | 'aiProviders'> & {
  /** http-request: built per config, because a `.internal` URL resolves against that config's internal endpoints. */
  sideCalls: SideCallPorts;
  agentPresence?: AgentPresence;
  /** ai-gateway's provider port for a config: internal endpoint base URLs resolve in that config's directory. */
  aiProvidersFor?: (internalByUrl: LayeredMap<string, LoadedEndpoint>) => AiProviders;
  /**
   * Opens the secrets that come sealed with policies (@gatehouse/runtime dataplane-secrets, derived from
   * GATEHOUSE_DATAPLANE_TOKEN). Values live only in compiled policies in memory; without it no secret opens.
   */
  readonly secretsKey?: Buffer;
};

export interface RuntimeConfig {
  readonly revision: number;
  readonly endpointsById: LayeredMap<string, LoadedEndpoint>;
  /** Cloud endpoints by exact host. */
  readonly exactRoutes: LayeredMap<string, readonly LoadedEndpoint[]>;
  /** Cloud endpoints by wildcard suffix: `*.example.com` is stored under `.example.com`. */
  readonly wildcardRoutes: LayeredMap<string, readonly LoadedEndpoint[]>;
  /** Internal endpoints by normalized URL (what forward-internal names). */
  readonly internalByUrl: LayeredMap<string, LoadedEndpoint>;
  readonly ipCategories: ReadonlyMap<string, SyncIpCategory>;
  readonly ports: PolicyPorts;
  /** Endpoints whose newest policy could not be compiled (the previous one, if any, keeps running), by id. */
  readonly failures: ReadonlyMap<string, string>;
  /**
   * Cloud endpoints that failed with no earlier version to run, by host (`*.example.com` for wildcards) → endpoint id:
   * their traffic is answered 503 ENDPOINT_CONFIG_INVALID rather than a 404 that would hide the failure.
   */
  readonly unservedHosts: ReadonlyMap<string, string>;
}

/** The failing cloud endpoint a Host would have reached (exact, then wildcard), when no running endpoint matched. */
export function unservedEndpointFor(config: RuntimeConfig, host: string): string | undefined {
  if (config.unservedHosts.size === 0) return undefined;
  const exact = config.unservedHosts.get(host);
  if (exact !== undefined) return exact;
  for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
    const wildcard = config.unservedHosts.get(`*${host.slice(dot)}`);
    if (wildcard !== undefined) return wildcard;
  }
  return undefined;
}

export interface ApplyResult {
  config: RuntimeConfig;
  /** Problems found while applying, one message each (also kept in `config.failures`). */
  errors: string[];
}

/** Finds the cloud endpoint for a Host (lower-case, without port): exact first, then the most specific wildcard. */
export function routeByHost(config: RuntimeConfig, host: string, scheme: 'http' | 'https'): LoadedEndpoint | undefined {
  const exact = config.exactRoutes.get(host);
  if (exact !== undefined) return pickByScheme(exact, scheme);
  if (config.wildcardRoutes.size === 0) return undefined;
  for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
    const candidates = config.wildcardRoutes.get(host.slice(dot));
    if (candidates !== undefined) return pickByScheme(candidates, scheme);
  }
  return undefined;
}

function pickByScheme(candidates: readonly LoadedEndpoint[], scheme: 'http' | 'https'): LoadedEndpoint | undefined {
  if (candidates.length === 1) return candidates[0];
  return candidates.find((endpoint) => endpoint.scheme === scheme) ?? candidates[0];
}

export function emptyRuntimeConfig(shared: SharedPorts): RuntimeConfig {
  return finishConfig(
    0,
    LayeredMap.empty(),
    LayeredMap.empty(),
    LayeredMap.empty(),
    LayeredMap.empty(),
    new Map(),
    new Map(),
    new Map(),
    shared,
  );
}

/** A whole snapshot replaces the config; endpoints whose policy text is unchanged keep their compiled policy. */
export function applySnapshot(
  previous: RuntimeConfig,
  snapshot: ConfigSnapshot,
  shared: SharedPorts,
  cache: CompiledPolicyCache = new CompiledPolicyCache(),
  options: { deferCompile?: boolean } = {},
): ApplyResult {
  const draft = new ConfigDraft(previous, shared, true, cache, options.deferCompile === true);
  for (const category of snapshot.ip_categories) draft.upsertCategory(category);
  for (const endpoint of snapshot.endpoints) draft.upsertEndpoint(endpoint);
  return draft.finish(snapshot.revision);
}

/** Compiling is synchronous; a slice of this many milliseconds is the longest a snapshot holds the event loop. */
const snapshotSliceMs = 10;

/**
 * `applySnapshot` for a data plane that is serving: compiling thousands of changed policies takes seconds, so the
 * work is cut into slices with a yield between them, and traffic keeps flowing on the running config until the one
 * swap at the end.
 */
export async function applySnapshotWhileServing(
  previous: RuntimeConfig,
  snapshot: ConfigSnapshot,
  shared: SharedPorts,
  cache: CompiledPolicyCache = new CompiledPolicyCache(),
): Promise<ApplyResult> {
  const draft = new ConfigDraft(previous, shared, true, cache);
  for (const category of snapshot.ip_categories) draft.upsertCategory(category);
  let sliceStart = performance.now();
  for (const endpoint of snapshot.endpoints) {
    draft.upsertEndpoint(endpoint);
    if (performance.now() - sliceStart > snapshotSliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return draft.finish(snapshot.revision);
}

/**
 * Compiles the endpoints of `config` that were loaded with their compile deferred, in slices that yield to requests,
 * and answers the config with each of them replaced by its compiled form (a policy that no longer compiles is reported
 * and its endpoint stops being served, as when a change is rejected). Answers `undefined` when there was none.
 */
export async function compileDeferred(
  config: RuntimeConfig,
  shared: SharedPorts,
  cache: CompiledPolicyCache,
): Promise<ApplyResult | undefined> {
  const deferred = [...config.endpointsById.values()].filter((endpoint) => endpoint.deferred === true);
  if (deferred.length === 0) return undefined;
  const draft = new ConfigDraft(config, shared, false, cache);
  let sliceStart = performance.now();
  for (const endpoint of deferred) {
    draft.upsertEndpoint(endpoint.synced);
    if (performance.now() - sliceStart > snapshotSliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return draft.finish(config.revision);
}

/** Applies changes in order on top of `previous`; the caller has checked that they follow on without a gap. */
export function applyChanges(
  previous: RuntimeConfig,
  changes: readonly ConfigChangeEvent[],
  shared: SharedPorts,
  cache: CompiledPolicyCache = new CompiledPolicyCache(),
): ApplyResult {
  const draft = new ConfigDraft(previous, shared, false, cache);
  let revision = previous.revision;
  for (const change of changes) {
    if (change.revision <= revision) continue;
    draft.applyChange(change);
    revision = change.revision;
  }
  return draft.finish(revision);
}

/**
 * A loaded endpoint. One class for every endpoint, so the request path reads `policy` through one shape: from the
 * slot (compiled again on a read after eviction) for a policy kept by its text, else the one compiled with its
 * secrets. `policy` is an own enumerable accessor sharing one getter function, so every instance keeps one hidden
 * class with fast properties (an object literal's getter gave each endpoint a dictionary-mode object of its own), and
 * a spread (`{ ...endpoint }`) still copies the policy.
 */
class ConfiguredEndpoint implements LoadedEndpoint {
  declare readonly policy: CompiledPolicy | undefined;
  readonly deferred?: true;

  constructor(
    readonly synced: SyncEndpoint,
    readonly facts: EndpointFacts,
    readonly scheme: 'http' | 'https',
    readonly compiledWithSecrets: CompiledPolicy | undefined,
    readonly policySlot: PolicySlot | undefined,
    readonly upstream: UpstreamTarget | undefined,
    readonly agent: SyncAgentEndpoint | undefined,
    readonly shadow: ShadowPolicy | undefined,
    deferred: boolean,
  ) {
    if (deferred) this.deferred = true;
    Object.defineProperty(this, 'policy', { get: readPolicy, enumerable: true });
  }
}

function readPolicy(this: ConfiguredEndpoint): CompiledPolicy | undefined {
  const slot = this.policySlot;
  return slot === undefined ? this.compiledWithSecrets : slot.read();
}

/** The mutable working copy a change is applied to; `finish` freezes it into the next RuntimeConfig. */
class ConfigDraft {
  readonly #previous: RuntimeConfig;
  readonly #shared: SharedPorts;
  readonly #endpoints: LayeredMap<string, LoadedEndpoint>;
  readonly #exact: LayeredMap<string, readonly LoadedEndpoint[]>;
  readonly #wildcard: LayeredMap<string, readonly LoadedEndpoint[]>;
  readonly #internal: LayeredMap<string, LoadedEndpoint>;
  readonly #categories: Map<string, SyncIpCategory>;
  readonly #failures: Map<string, string>;
  /** Failing cloud endpoints with nothing to run: id → host. */
  readonly #unserved: Map<string, string>;
  readonly #errors: string[] = [];
  /** Compiled policies by (type, sha256), kept across drafts: identical policies on many endpoints compile once. */
  readonly #compiled: CompiledPolicyCache;
  /** Policies not in the cache are compiled on first read (booting from last-known-good; see `LoadedEndpoint`). */
  readonly #deferCompile: boolean;
  #categoriesChanged = false;

  constructor(
    previous: RuntimeConfig,
    shared: SharedPorts,
    fromScratch: boolean,
    cache: CompiledPolicyCache,
    deferCompile = false,
  ) {
    this.#previous = previous;
    this.#deferCompile = deferCompile;
    this.#compiled = cache;
    this.#shared = shared;
    if (fromScratch) {
      this.#endpoints = LayeredMap.empty();
      this.#exact = LayeredMap.empty();
      this.#wildcard = LayeredMap.empty();
      this.#internal = LayeredMap.empty();
      this.#categories = new Map();
      this.#failures = new Map();
      this.#unserved = new Map();
      this.#categoriesChanged = true;
    } else {
      // Derived, not copied: a change to one endpoint must not cost a copy of all 10,000.
      this.#endpoints = previous.endpointsById.derive();
      this.#exact = previous.exactRoutes.derive();
      this.#wildcard = previous.wildcardRoutes.derive();
      this.#internal = previous.internalByUrl.derive();
      this.#categories = new Map(previous.ipCategories);
      this.#failures = new Map(previous.failures);
      this.#unserved = new Map([...previous.unservedHosts].map(([host, id]) => [id, host]));
    }
  }

  applyChange(change: ConfigChangeEvent): void {
    switch (change.kind) {
      case 'endpoint.upserted':
        if (change.endpoint === null) {
          this.#errors.push(`revision ${change.revision}: endpoint.upserted without an endpoint; ignored`);
        } else this.upsertEndpoint(change.endpoint);
        return;
      case 'endpoint.deleted':
        this.deleteEndpoint(change.entity_id);
        return;
      case 'ip_category.upserted':
        if (change.ip_category === null) {
          this.#errors.push(`revision ${change.revision}: ip_category.upserted without a category; ignored`);
        } else this.upsertCategory(change.ip_category);
        return;
      case 'ip_category.deleted':
        this.#categories.delete(change.entity_id);
        this.#categoriesChanged = true;
        return;
      case 'agent_session.ended':
        // Routing is unchanged by it (the session's endpoints change in their own events); the tunnel registry closes
        // the session's connections.
        return;
    }
  }

  upsertCategory(category: SyncIpCategory): void {
    this.#categories.set(category.name, {
      name: category.name,
      cidrs: [...category.cidrs],
      description: category.description,
      builtin: category.builtin,
    });
    this.#categoriesChanged = true;
  }

  upsertEndpoint(synced: SyncEndpoint): void {
    const existing = this.#previous.endpointsById.get(synced.id);
    const loaded = this.#load(synced, existing);
    if (typeof loaded === 'string') {
      // A deferred endpoint never ran a compiled policy here, so there is no earlier one to keep running.
      const keep = existing?.deferred === true ? undefined : existing;
      const message = `endpoint ${synced.id} (${synced.url}) policy version ${synced.policy?.version ?? synced.policy_rejected?.version ?? 'none'}: ${loaded}${keep === undefined ? '; the endpoint is not served until a valid policy arrives' : '; the previous policy keeps running'}`;
      this.#failures.set(synced.id, message);
      this.#errors.push(message);
      if (keep === undefined) {
        const current = this.#endpoints.get(synced.id);
        if (current !== undefined) this.#remove(current);
        if (synced.type === 'cloud') this.#unserved.set(synced.id, synced.host.toLowerCase());
      }
      // A snapshot starts from scratch: carry the endpoint that keeps running into the new maps.
      if (keep !== undefined && !this.#endpoints.has(synced.id)) this.#add(keep);
      return;
    }
    this.#failures.delete(synced.id);
    this.#unserved.delete(synced.id);
    const current = this.#endpoints.get(synced.id);
    if (current !== undefined) this.#remove(current);
    this.#add(loaded);
  }

  deleteEndpoint(id: string): void {
    const current = this.#endpoints.get(id);
    if (current !== undefined) this.#remove(current);
    this.#failures.delete(id);
    this.#unserved.delete(id);
  }

  finish(revision: number): ApplyResult {
    this.#compiled.prune(this.#endpoints.values(), this.#endpoints.size);
    const categories = this.#categoriesChanged ? undefined : this.#previous.ports.ipCategories;
    const config = finishConfig(
      revision,
      this.#endpoints,
      this.#exact,
      this.#wildcard,
      this.#internal,
      this.#categories,
      this.#failures,
      new Map([...this.#unserved].map(([id, host]) => [host, id])),
      this.#shared,
      categories,
    );
    return { config, errors: this.#errors };
  }

  #load(synced: SyncEndpoint, existing: LoadedEndpoint | undefined): LoadedEndpoint | string {
    const address = parseEndpointUrl(synced.url);
    if (!address.ok) return `url "${synced.url}": ${address.problem}`;
    const url = address.value.url;
    let upstream: UpstreamTarget | undefined;
    if (synced.type === 'internal' && synced.upstream_url !== null) {
      upstream = parseUpstream(synced.upstream_url);
      if (upstream === undefined) return `upstream_url "${synced.upstream_url}" is not an http(s) URL`;
    }
    // `?? null`: shapes built in code may lack the field the contract defaults.
    const agent = synced.type === 'agent' ? (synced.agent ?? { pooling_enabled: false, members: [] }) : undefined;
    // The agent receives the request as addressed to the endpoint (Host = its host); it knows the local upstream.
    if (agent !== undefined) upstream = parseUpstream(url);
    let policy: CompiledPolicy | undefined;
    let slot: PolicySlot | undefined;
    let deferred = false;
    const synchronizedPolicy = synced.policy;
    const problem = policyProblem(synced, existing);
    if (problem !== undefined) return problem;
    if (synchronizedPolicy !== null && (synchronizedPolicy.secrets?.length ?? 0) > 0) {
      // Secret values are bound at compile time, and a rotation keeps the text: such a policy is compiled afresh
      // with the values it came with, never taken from the caches keyed by its text.
      try {
        policy = compile(parse(synchronizedPolicy.source), {
          ...policyOptionsFor(synced.type, synced.url),
          secrets: this.#openSecrets(synced),
        });
      } catch (error) {
        return describeCompileError(error);
      }
    } else if (synchronizedPolicy !== null) {
      // The sha256 names the policy text: an unchanged one keeps its slot without being compared or compiled.
      const reusable =
        existing !== undefined &&
        existing.deferred !== true &&
        existing.policySlot !== undefined &&
        existing.synced.type === synced.type &&
        existing.synced.url === synced.url &&
        existing.synced.policy?.sha256 === synchronizedPolicy.sha256;
      if (reusable) slot = existing.policySlot;
      else {
        slot = this.#compiled.slot(
          CompiledPolicyCache.key(synced, synchronizedPolicy.sha256),
          synchronizedPolicy.source,
          synced,
        );
        if (!slot.checked && this.#deferCompile) deferred = true;
        else if (!slot.checked) {
          const result = this.#compiled.compile(slot, false);
          if (typeof result === 'string') return result;
        }
      }
    }
    const scheme = url.startsWith('https:') ? 'https' : 'http';
    const host = synced.host.toLowerCase();
    return Object.freeze(
      new ConfiguredEndpoint(
        synced,
        // The synced strings themselves when normalizing changed nothing: one copy per endpoint, not two.
        Object.freeze({
          id: synced.id,
          url: url === synced.url ? synced.url : url,
          host: host === synced.host ? synced.host : host,
          type: synced.type,
        }),
        scheme,
        policy,
        slot,
        upstream,
        agent,
        this.#loadShadow(synced, existing),
        deferred,
      ),
    );
  }

  /**
   * A shadow that does not verify or compile is left out (and reported) without touching the endpoint: it enforces
   * nothing, so the endpoint keeps serving with its active policy. Shadows are compiled without secret values (the
   * API seals secrets for active policies only), so a shadow naming a secret does not compile here.
   */
  #loadShadow(synced: SyncEndpoint, existing: LoadedEndpoint | undefined): ShadowPolicy | undefined {
    const shadow = synced.shadow_policy ?? null;
    if (shadow === null) return undefined;
    if (
      existing?.shadow?.sha256 === shadow.sha256 &&
      existing.synced.type === synced.type &&
      existing.synced.url === synced.url
    )
      return existing.shadow;
    if (sha256Hex(shadow.source) !== shadow.sha256) {
      this.#errors.push(`endpoint ${synced.id}: the shadow policy's sha256 does not match its source; not evaluated`);
      return undefined;
    }
    // A shadow is held compiled by its endpoint (few endpoints carry one); the cache only spares a second compile.
    const slot = this.#compiled.slot(CompiledPolicyCache.key(synced, shadow.sha256), shadow.source, synced);
    const policy = this.#compiled.compile(slot, false);
    if (typeof policy === 'string') {
      this.#errors.push(`endpoint ${synced.id}: shadow policy: ${policy}; not evaluated`);
      return undefined;
    }
    return Object.freeze({ sha256: shadow.sha256, policy });
  }

  /** The endpoint's sealed secrets, opened; one that does not open is left out (requests needing it fail closed). */
  #openSecrets(synced: SyncEndpoint): SecretValues {
    const values = new Map<string, string>();
    const key = this.#shared.secretsKey;
    for (const { vault, name, sealed } of synced.policy?.secrets ?? []) {
      try {
        if (key === undefined) throw new Error('this data plane has no secrets key');
        values.set(secretKey(vault, name), openFromControlPlane(key, vault, name, sealed));
      } catch (error) {
        this.#errors.push(
          `endpoint ${synced.id}: secret ${vault}/${name} withheld (${error instanceof Error ? error.message : 'unknown'}); requests that need it fail with 500`,
        );
      }
    }
    return { get: (vault, name) => values.get(secretKey(vault, name)) };
  }

  #add(endpoint: LoadedEndpoint): void {
    this.#endpoints.set(endpoint.synced.id, endpoint);
    if (reachedByForwardOnly(endpoint)) {
      this.#internal.set(endpoint.facts.url, endpoint);
      return;
    }
    const [routes, key] = this.#routeSlot(endpoint);
    routes.set(key, [...(routes.get(key) ?? []), endpoint]);
  }

  #remove(endpoint: LoadedEndpoint): void {
    this.#endpoints.delete(endpoint.synced.id);
    if (reachedByForwardOnly(endpoint)) {
      if (this.#internal.get(endpoint.facts.url) === endpoint) this.#internal.delete(endpoint.facts.url);
      return;
    }
    const [routes, key] = this.#routeSlot(endpoint);
    const remaining = (routes.get(key) ?? []).filter((candidate) => candidate.synced.id !== endpoint.synced.id);
    if (remaining.length === 0) routes.delete(key);
    else routes.set(key, remaining);
  }

  #routeSlot(endpoint: LoadedEndpoint): [LayeredMap<string, readonly LoadedEndpoint[]>, string] {
    const host = endpoint.facts.host;
    return host.startsWith('*.') ? [this.#wildcard, host.slice(1)] : [this.#exact, host];
  }
}

/** Internal endpoints, and agent endpoints on `.internal` hosts: reachable only through forward-internal. */
function reachedByForwardOnly(endpoint: LoadedEndpoint): boolean {
  return endpoint.facts.type === 'internal' || (endpoint.facts.type === 'agent' && isInternalHost(endpoint.facts.host));
}

function finishConfig(
  revision: number,
  endpointsById: LayeredMap<string, LoadedEndpoint>,
  exactRoutes: LayeredMap<string, readonly LoadedEndpoint[]>,
  wildcardRoutes: LayeredMap<string, readonly LoadedEndpoint[]>,
  internalByUrl: LayeredMap<string, LoadedEndpoint>,
  ipCategories: Map<string, SyncIpCategory>,
  failures: Map<string, string>,
  unservedHosts: Map<string, string>,
  shared: SharedPorts,
  categoryIndex?: IpCategoryResolver,
): RuntimeConfig {
  // The side-call port needs the config it belongs to (its internal endpoints and their policies); requests only run
  // once the config is built, so the closure reads it after the assignment below.
  const built: { config?: RuntimeConfig } = {};
  const { sideCalls, aiProvidersFor, ...sharedPorts } = shared;
  const ports: PolicyPorts = {
    ...sharedPorts,
    httpRequests: sideCalls.forConfig(() => built.config!),
    ...(aiProvidersFor === undefined ? {} : { aiProviders: aiProvidersFor(internalByUrl) }),
    ipCategories: categoryIndex ?? createIpCategoryIndex([...ipCategories.values()]),
    internalEndpoints: {
      has: (url) => internalByUrl.has(url),
      isOffline: (url) => {
        const agent = internalByUrl.get(url)?.agent;
        return agent !== undefined && shared.agentPresence?.serves(agent) !== true;
      },
    },
  };
  const config: RuntimeConfig = Object.freeze({
    revision,
    endpointsById,
    exactRoutes,
    wildcardRoutes,
    internalByUrl,
    ipCategories,
    ports,
    failures,
    unservedHosts,
  });
  built.config = config;
  return config;
}

let uncompilable: CompiledPolicy | undefined;

/**
 * Answers every request while a policy booted from last-known-good does not compile any more (it did when it was
 * stored, so this takes a data plane upgraded in between); the background pass then reports the endpoint and stops
 * serving it, as for any rejected policy. Fails closed: no rule of the broken policy can let a request through.
 * Compiled on first use, not at import: every boot paid its compile (and the engine's first-compile warm-up) before
 * listening, for a stand-in that is almost never needed.
 */
function uncompilablePolicy(): CompiledPolicy {
  uncompilable ??= compile(
    parse(`on_http_request:
  - name: last-known-good policy does not compile
    actions:
      - type: custom-response
        config:
          status_code: 503
          headers: { content-type: text/plain }
          body: "ENDPOINT_CONFIG_INVALID: this endpoint's stored policy does not compile on this data plane."
`),
    { endpointType: 'cloud' },
  );
  return uncompilable;
}

/**
 * Whether `policy` stands in for a last-known-good policy that no longer compiles: the request phase answers such an
 * endpoint 503 `ENDPOINT_CONFIG_INVALID` itself (logged with that code, as once the background pass has found it),
 * so the stand-in's own answer is only the fail-closed default for any other reader.
 */
export function isUncompilablePolicy(policy: CompiledPolicy | undefined): boolean {
  return policy !== undefined && policy === uncompilable;
}

function parseUpstream(text: string): UpstreamTarget | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return Object.freeze({ origin: url.origin, host: url.host, basePath });
}

/**
 * Why the endpoint's policy must not run, before compiling it: defence in depth against a row that bypassed the API's
 * validation, a corrupted message or a forged one. "No policy" is only ever `policy: null` (and only for internal
 * endpoints): an empty source is an error, never read as "no rules".
 */
function policyProblem(synced: SyncEndpoint, existing: LoadedEndpoint | undefined): string | undefined {
  // `?? null`: shapes built in code (tests, older embedders) may lack the field the contract defaults.
  const rejected = synced.policy_rejected ?? null;
  if (rejected !== null) return `rejected by the control plane: ${rejected.reason}`;
  const policy = synced.policy;
  if (policy === null) {
    return synced.type === 'cloud'
      ? 'a cloud endpoint arrived without a policy (cloud endpoints always have one)'
      : undefined;
  }
  if (policy.source.trim() === '')
    return 'the policy source is empty (an endpoint without a policy has "policy": null)';
  // The text already running under this sha256 was verified when it was loaded; only new text is hashed.
  const known = existing?.synced.policy;
  if (known?.sha256 === policy.sha256 && known.source === policy.source) return undefined;
  if (sha256Hex(policy.source) !== policy.sha256) {
    return `the policy's sha256 ${policy.sha256.slice(0, 12)}… does not match its source (corrupted or forged)`;
  }
  return undefined;
}

/**
 * The hex SHA-256 of a text's UTF-8. The one-shot `crypto.hash`, not `createHash().update().digest()`: a boot from
 * last-known-good verifies every policy (10,000 at once), and the Hash object per call cost ≈6 µs of 7.5 µs each.
 */
function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

function describeCompileError(error: unknown): string {
  if (error instanceof PolicyCompileError) {
    const problems = error.issues
      .filter((issue) => issue.severity === 'error')
      .slice(0, 5)
      .map((issue) => `${issue.code} at ${issue.line}:${issue.column} (${issue.message})`);
    return `policy does not compile: ${problems.join('; ')}`;
  }
  return `policy does not compile: ${error instanceof Error ? error.message : String(error)}`;
}

/** The config as a contract-shaped snapshot, for the last-known-good file (what runs, not what failed). */
export function snapshotOf(config: RuntimeConfig): ConfigSnapshot {
  return {
    revision: config.revision,
    generated_at: new Date().toISOString(),
    endpoints: [...config.endpointsById.values()].map((endpoint) => endpoint.synced),
    ip_categories: [...config.ipCategories.values()],
  };
}
