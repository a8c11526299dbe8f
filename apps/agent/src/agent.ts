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
  dataplanes: { url: string; connected: boolean }[];
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

  constructor(private readonly options: AgentOptions) {
    this.#declaration = {
      agent_version: agentVersion,
      hostname: hostname().slice(0, 255) || 'unknown',
      session_key: this.sessionKey,
      endpoints: options.endpoints,
    };
    this.#forwarder = new UpstreamForwarder(
      new Map(options.endpoints.map((endpoint) => [endpoint.url, endpoint])),
      this.#stats,
      options.log,
    );
  }

  start(): void {
    this.#ensureLink(this.options.connectUrl, true);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
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
      dataplanes: [...this.#links.values()].map((link) => ({ url: link.url, connected: link.connected })),
      sessionId: this.#sessionId,
      requests: this.#stats.requests,
      inFlight: this.#stats.inFlight,
      lastError: this.#lastError,
    };
  }

  #ensureLink(url: string, primary: boolean): void {
    const key = new URL(url).origin;
    if (this.#stopped || this.#links.has(key)) return;
    const link = new Link(key, primary, this);
    this.#links.set(key, link);
    link.start();
  }

  /** @internal the Link's view of the agent. */
  tunnelFor(url: string): Tunnel {
    return new Tunnel({
      dataplaneUrl: url,
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
        },
        onDataplanes: (dataplanes) => this.#followDataplanes(dataplanes),
      },
    });
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
    if (this.#links.get(link.url) === link) this.#links.delete(link.url);
  }

  #followDataplanes(dataplanes: AgentDataplane[]): void {
    const wanted = new Set<string>();
    for (const dataplane of dataplanes) {
      let origin: string;
      try {
        origin = new URL(dataplane.url).origin;
      } catch {
        continue;
      }
      wanted.add(origin);
      this.#ensureLink(origin, false);
    }
    // A data plane that left the list: its link goes (connect_url stays, whatever the list says).
    for (const link of this.#links.values()) if (!link.primary && !wanted.has(link.url)) void link.stop();
  }
}

/** One data plane's connection, kept up forever (until stopped) with backoff between attempts. */
class Link {
  #tunnel: Tunnel | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(
    readonly url: string,
    readonly primary: boolean,
    private readonly agent: GatehouseAgent,
  ) {}

  get connected(): boolean {
    return this.#tunnel?.registered ?? false;
  }

  start(): void {
    this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#tunnel?.close();
    this.#wake?.();
    this.agent.forget(this);
    await this.#running;
  }

  async #loop(): Promise<void> {
    const backoff = this.agent.backoff;
    while (!this.#stopped && !this.agent.stopped) {
      const tunnel = this.agent.tunnelFor(this.url);
      this.#tunnel = tunnel;
      this.agent.log('info', 'connecting', { dataplane: this.url });
      const end = await tunnel.run();
      this.#tunnel = undefined;
      if (this.#stopped || this.agent.stopped) return;
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
  }
}
