import { Agent, request } from 'undici';

/** A data plane the load goes to, while it is in rotation. */
export interface LoadTarget {
  name: string;
  trafficPort: number;
}

/** One request of the load as the client saw it: `status` 0 means no answer (`error` says why). */
export interface LoadResult {
  check: string;
  phase: string;
  via: string;
  status: number;
  body: string;
  error?: string;
  /** Connections refused before this one got through (each to a data plane that was no longer listening). */
  refused: number;
}

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * Steady traffic through the data planes, as a load balancer in front of them would send it: `perTick` requests every
 * `tickMs` (keep-alive connections), round robin over the targets in rotation, each with its own `check` query
 * parameter so its request-log row can be found. A connection refused (the data plane stopped listening: nothing was
 * sent) is tried on the next target, as a balancer does; any other error is a failed request.
 */
export class SteadyLoad {
  readonly results: LoadResult[] = [];
  #targets: LoadTarget[];
  #phase = 'warmup';
  #sequence = 0;
  #next = 0;
  #running: Promise<void> | undefined;
  #stopping = false;
  readonly #agents = new Map<number, Agent>();

  constructor(
    targets: LoadTarget[],
    readonly host: string,
    readonly options: { perTick: number; tickMs: number } = { perTick: 8, tickMs: 50 },
  ) {
    this.#targets = [...targets];
  }

  /** Replaces the targets in rotation (a data plane taken out, a new one added). */
  setTargets(targets: LoadTarget[]): void {
    this.#targets = [...targets];
  }

  /** Labels the requests sent from now on (their `check` starts with it). */
  setPhase(phase: string): void {
    this.#phase = phase;
  }

  start(): void {
    this.#stopping = false;
    this.#running ??= this.#loop();
  }

  /** Stops sending and resolves once every request sent has its answer. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#running;
    this.#running = undefined;
  }

  /** Requests of a phase. */
  of(phase: string): LoadResult[] {
    return this.results.filter((result) => result.phase === phase);
  }

  async close(): Promise<void> {
    await this.stop();
    await Promise.all([...this.#agents.values()].map((agent) => agent.close()));
  }

  async #loop(): Promise<void> {
    const pending = new Set<Promise<void>>();
    const started = Date.now();
    let ticks = 0;
    while (!this.#stopping) {
      for (let index = 0; index < this.options.perTick; index++) {
        const sending = this.#send(`${this.#phase}-${this.#sequence++}`, this.#phase).finally(() =>
          pending.delete(sending),
        );
        pending.add(sending);
      }
      ticks += 1;
      await sleep(Math.max(0, started + ticks * this.options.tickMs - Date.now()));
    }
    await Promise.all(pending);
  }

  #agentFor(port: number): Agent {
    let agent = this.#agents.get(port);
    if (agent === undefined) {
      agent = new Agent({ connections: 16, keepAliveTimeout: 10_000 });
      this.#agents.set(port, agent);
    }
    return agent;
  }

  async #send(check: string, phase: string): Promise<void> {
    let refused = 0;
    for (;;) {
      const targets = this.#targets;
      const target = targets[this.#next++ % Math.max(1, targets.length)];
      if (target === undefined) {
        this.results.push({ check, phase, via: '', status: 0, body: '', error: 'no target in rotation', refused });
        return;
      }
      try {
        const response = await request(`http://127.0.0.1:${target.trafficPort}/load?check=${check}`, {
          headers: { host: this.host },
          dispatcher: this.#agentFor(target.trafficPort),
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        const body = await response.body.text();
        this.results.push({ check, phase, via: target.name, status: response.statusCode, body, refused });
        return;
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        if (code === 'ECONNREFUSED' && refused < 10) {
          refused += 1;
          continue;
        }
        this.results.push({
          check,
          phase,
          via: target.name,
          status: 0,
          body: '',
          error: `${code} ${(error as Error).message}`,
          refused,
        });
        return;
      }
    }
  }
}
