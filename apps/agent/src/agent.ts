import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type {
  AgentDataplane,
  AgentDeclaration,
  AgentEndpointDeclaration,
  AgentEndpointOutcome,
} from '@gatehouse/contracts';
import { Backoff } from './backoff.js';
import { Tunnel, type TunnelEnd } from './tunnel.js';
import { UpstreamForwarder, type Log, type UpstreamStats } from './upstream.js';

export const agentVersion = '0.1.0';

export interface AgentOptions {
  connectUrl: string;
  authtoken: string;
  endpoints: AgentEndpointDeclaration[];
  log: Log;
  ca?: string | Buffer;
  /** Tests shorten the backoff; the default is 500 ms doubling to a 30 s cap. */
  backoff?: () => Backoff;
}

export interface AgentStatus {
  endpoints: { name: string; url: string; status: 'online' | 'refused' | 'pending'; error: string | null }[];
  dataplanes: { url: string; id: string | null; connected: boolean }[];
  sessionId: string | null;
  requests: number;
  inFlight: number;
  lastError: string | null;
}

/**
 * The agent: one session (one `session_key` for the life of the process) held over one connection per data plane.
 * It starts with connect_url, then follows the data plane list the registration and later pushes name, so every data
 * plane of a distributed install can serve its endpoints without data planes relaying to each other. Each connection
 * reconnects forever with exponential backoff and full jitter.
 */
export class GatehouseAgent {
  readonly sessionKey = randomBytes(24).toString('base64url');
  readonly #declaration: AgentDeclaration;
  readonly #stats: UpstreamStats = { requests: 0, inFlight: 0, upstreamErrors: 0 };
  readonly #forwarder: UpstreamForwarder;
  readonly #links = new Map<string, Link>();
  readonly #outcomes = new Map<string, AgentEndpointOutcome>();
  #sessionId: string | null = null;
  #lastError: string | null = null;
  #stopped = false;
  /** Delays between attempts to claim endpoints refused for a reason that can clear (see retryableRefusals). */
  readonly #endpointRetries: Backoff;
  #endpointRetry: NodeJS.Timeout | undefined;

  constructor(private readonly options: AgentOptions) {
    this.#declaration = {
      agent_version: agentVersion,
      hostname: hostname().slice(0, 255) || 'unknown',
      session_key: this.sessionKey,
      endpoints: options.endpoints,
    };
    this.#endpointRetries = options.backoff?.() ?? new Backoff();
    this.#forwarder = new UpstreamForwarder(
      new Map(options.endpoints.map((endpoint) => [endpoint.url, endpoint])),
      this.#stats,
      options.log,
    );
  }

  start(): void {
    this.#ensureLink(primaryKey, this.options.connectUrl, undefined);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#endpointRetry);
    await Promise.all([...this.#links.values()].map((link) => link.stop()));
    this.#forwarder.close();
  }

  status(): AgentStatus {
    return {
      endpoints: this.options.endpoints.map((endpoint) => {
        const outcome = this.#outcomes.get(endpoint.name);
        return {
          name: endpoint.name,
          url: endpoint.url,
          status: outcome?.status ?? 'pending',
          error: outcome?.error?.message ?? null,
        };
      }),
      dataplanes: [...this.#links.values()].map((link) => ({
        url: link.url,
        id: link.dataplaneId ?? null,
        connected: link.connected,
      })),
      sessionId: this.#sessionId,
      requests: this.#stats.requests,
      inFlight: this.#stats.inFlight,
      lastError: this.#lastError,
    };
  }

  #ensureLink(key: string, url: string, targetId: string | undefined): void {
    if (this.#stopped || this.#links.has(key)) return;
    const link = new Link(key, new URL(url).origin, targetId, this);
    this.#links.set(key, link);
    link.start();
  }

  /** @internal the Link's view of the agent. */
  tunnelFor(link: Link, landOn: string | undefined = link.targetId): Tunnel {
    const url = link.url;
    return new Tunnel({
      dataplaneUrl: url,
      // A listed data plane's connection must land on that data plane: behind one address (workers, a load
      // balancer) the connection may reach another one, which is closed before HTTP/2 and dialled again.
      ...(landOn === undefined
        ? {}
        : { accept: (landedOn: string | undefined) => landedOn === undefined || landedOn === landOn }),
      authtoken: this.options.authtoken,
      declaration: this.#declaration,
      forwarder: this.#forwarder,
      ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
      handlers: {
        onRegistration: (registration) => {
          if (registration.status === 'refused') {
            this.#lastError = `${registration.error_code}: ${registration.message}`;
            this.options.log('error', 'the gateway refused the agent session', {
              dataplane: url,
              error_code: registration.error_code,
              reason: registration.message,
            });
            return;
          }
          this.#lastError = null;
          if (this.#sessionId !== registration.session_id)
            this.options.log('info', 'agent session registered', { session_id: registration.session_id });
          this.#sessionId = registration.session_id;
          for (const outcome of registration.endpoints) {
            const previous = this.#outcomes.get(outcome.name);
            this.#outcomes.set(outcome.name, outcome);
            if (previous?.status === outcome.status) continue;
            if (outcome.status === 'online')
              this.options.log('info', 'endpoint online', { endpoint: outcome.name, url: outcome.url });
            else
              this.options.log('error', 'endpoint refused', {
                endpoint: outcome.name,
                url: outcome.url,
                error_code: outcome.error?.error_code,
                reason: outcome.error?.message,
              });
          }
          this.#followDataplanes(registration.dataplanes);
          this.#retryRefusedEndpoints(registration.endpoints);
        },
        onDataplanes: (dataplanes) => this.#followDataplanes(dataplanes),
      },
    });
  }

  /**
   * An endpoint refused because its URL is held elsewhere (another session without pooling, a pool it does not fit)
   * may be free later: the holder's agent stops, its token is revoked. Its claim is tried again with backoff and
   * jitter, forever, by registering anew over a second connection to the connect_url data plane (Link.renew), so the
   * endpoints already online stay served throughout. Refusals that only a config change can clear are not retried.
   */
  #retryRefusedEndpoints(outcomes: AgentEndpointOutcome[]): void {
    const waiting = outcomes.filter(
      (outcome) => outcome.status === 'refused' && retryableRefusals.has(outcome.error?.error_code ?? ''),
    );
    if (waiting.length === 0) {
      this.#endpointRetries.reset();
      return;
    }
    if (this.#endpointRetry !== undefined || this.#stopped) return;
    const delay = this.#endpointRetries.next();
    this.options.log('info', 'retrying refused endpoints', {
      endpoints: waiting.map((outcome) => outcome.name),
      retry_in_ms: delay,
    });
    this.#endpointRetry = setTimeout(() => {
      this.#endpointRetry = undefined;
      const primary = this.#links.get(primaryKey);
      void (primary?.renew() ?? Promise.resolve(false)).then((renewed) => {
        // No new registration came (the dial failed, or landed on another worker): try again later. A registration
        // that came calls back here with its own outcomes.
        if (!renewed) this.#retryRefusedEndpoints(waiting);
      });
    }, delay);
    this.#endpointRetry.unref();
  }

  /** @internal */
  get backoff(): Backoff {
    return this.options.backoff?.() ?? new Backoff();
  }

  /** @internal */
  get log(): Log {
    return this.options.log;
  }

  /** @internal */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** @internal a link ended for good (a data plane that left the list). */
  forget(link: Link): void {
    if (this.#links.get(link.key) === link) this.#links.delete(link.key);
  }

  /**
   * One connection per listed data plane, by id (workers share an address but are data planes of their own). The
   * data plane the connect_url connection landed on is held already; connect_url stays, whatever the list says.
   */
  #followDataplanes(dataplanes: AgentDataplane[]): void {
    const primary = this.#links.get(primaryKey);
    const wanted = new Set<string>();
    for (const dataplane of dataplanes) {
      if (!URL.canParse(dataplane.url) || dataplane.id === primary?.dataplaneId) continue;
      wanted.add(dataplane.id);
      this.#ensureLink(dataplane.id, dataplane.url, dataplane.id);
    }
    for (const link of this.#links.values()) if (link.key !== primaryKey && !wanted.has(link.key)) void link.stop();
  }
}

const primaryKey = '(connect_url)';
/** Refusals that can clear without a change to this agent's config: the URL's holder or the pool may change. */
const retryableRefusals = new Set(['ENDPOINT_URL_TAKEN', 'POOLING_MISMATCH', 'POLICY_CONFLICT']);
/** Redials after landing on the wrong data plane before the normal backoff applies (a misrouting load balancer). */
const maxQuickRedials = 20;

/** One data plane's connection, kept up forever (until stopped) with backoff between attempts. */
class Link {
  #tunnel: Tunnel | undefined;
  /** A renewal's connection, registered and waiting to take over when the current one has closed. */
  #handover: { tunnel: Tunnel; running: Promise<TunnelEnd> } | undefined;
  #renewing: Tunnel | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  #lastDataplaneId: string | undefined;

  constructor(
    readonly key: string,
    readonly url: string,
    /** The listed data plane this link must reach; undefined for connect_url (any data plane will do). */
    readonly targetId: string | undefined,
    private readonly agent: GatehouseAgent,
  ) {}

  /**
   * The data plane the current connection landed on (known from its 101, before registration ends), else the last
   * one's. Read while the connection is up: the data plane list that registration brings must skip this one.
   */
  get dataplaneId(): string | undefined {
    return this.#tunnel?.dataplaneId ?? this.#lastDataplaneId;
  }

  get connected(): boolean {
    return this.#tunnel?.registered ?? false;
  }

  start(): void {
    this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#tunnel?.close();
    this.#handover?.tunnel.close();
    this.#renewing?.close();
    this.#wake?.();
    this.agent.forget(this);
    await this.#running;
  }

  /**
   * A fresh registration with no gap in service: a second connection carrying the same session key registers while
   * the current one serves (it must land on the same data plane), then the current one closes after its in-flight
   * requests and the new one takes over. The data plane holds both for that moment and tells the control plane
   * nothing when the old one closes (one leave per session, for its last connection). False: no new registration.
   */
  async renew(): Promise<boolean> {
    const current = this.#tunnel;
    if (this.#stopped || this.agent.stopped || current === undefined || !current.registered) return false;
    if (this.#handover !== undefined || this.#renewing !== undefined) return false;
    const tunnel = this.agent.tunnelFor(this, current.dataplaneId ?? this.targetId);
    this.#renewing = tunnel;
    const running = tunnel.run();
    const accepted = await Promise.race([tunnel.settled, running.then(() => false)]);
    this.#renewing = undefined;
    if (!accepted || this.#stopped || this.agent.stopped || this.#tunnel !== current) {
      tunnel.close();
      return false;
    }
    this.#handover = { tunnel, running };
    current.close();
    return true;
  }

  async #loop(): Promise<void> {
    const backoff = this.agent.backoff;
    let redials = 0;
    while (!this.#stopped && !this.agent.stopped) {
      const handover = this.#handover;
      this.#handover = undefined;
      const tunnel = handover?.tunnel ?? this.agent.tunnelFor(this);
      this.#tunnel = tunnel;
      if (handover === undefined && redials === 0)
        this.agent.log('info', 'connecting', { dataplane: this.url, id: this.targetId });
      const end = await (handover?.running ?? tunnel.run());
      this.#lastDataplaneId = tunnel.dataplaneId ?? this.#lastDataplaneId;
      this.#tunnel = undefined;
      if (this.#stopped || this.agent.stopped) return;
      // This connection closed for a renewal: the one that replaces it is registered already.
      if (this.#handover !== undefined) continue;
      if (end.kind === 'wrong-dataplane' && redials < maxQuickRedials) {
        redials++;
        await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 90));
        continue;
      }
      redials = 0;
      if (end.kind === 'closed' && end.registered) backoff.reset();
      const delay = backoff.next();
      this.agent.log(end.kind === 'closed' && end.registered ? 'warn' : 'error', describe(end), {
        dataplane: this.url,
        retry_in_ms: delay,
      });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}

function describe(end: TunnelEnd): string {
  switch (end.kind) {
    case 'refused-upgrade':
      return `the data plane refused the tunnel (${end.status} ${end.errorCode}): ${end.message}`;
    case 'refused-registration':
      return `the gateway refused the session (${end.errorCode}): ${end.message}`;
    case 'closed':
      return end.registered ? `disconnected: ${end.reason}` : `could not connect: ${end.reason}`;
    case 'wrong-dataplane':
      return `the connection keeps landing on another data plane (${end.landedOn}) than the one wanted`;
  }
}
