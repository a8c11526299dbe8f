import { hostname, networkInterfaces } from 'node:os';
import {
  checkFetchUrl,
  checkOutboundUrl,
  compileOutboundRules,
  type GatewayListeners,
  type OutboundRules,
  type OutboundVerdict,
} from '@gatehouse/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { ENV, type Env } from '../env';

/**
 * The save-time half of the outbound rules (`@gatehouse/contracts` outbound-rules): an upstream_url or JWKS URL that
 * is one of the gateway's own listeners, or outside GATEHOUSE_UPSTREAM_ALLOW / _DENY, is refused when it is saved,
 * with a message that says what to change. Names are judged as written (the API does not resolve them: what a name
 * resolves to can change after saving); the data planes judge the address they actually dial, which is the guarantee.
 *
 * The gateway's own ports: API_PORT, GATEHOUSE_GATEWAY_PORTS (the data planes' ports, an operator setting because
 * data planes run on other machines and ports in the distributed shape) and the ports the embedded shape adds once
 * its data plane listens. The machine's own addresses count as local, next to loopback and the unspecified address,
 * and its own host name like `localhost` on those ports (it usually resolves here through /etc/hosts).
 */
@Injectable()
export class OutboundTargetsService {
  readonly #rules: OutboundRules;
  readonly #gateway: { ports: number[]; localAddresses: string[]; hostNames: string[]; localNames: string[] };

  constructor(@Inject(ENV) env: Env) {
    const compiled = compileOutboundRules(env.GATEHOUSE_UPSTREAM_ALLOW, env.GATEHOUSE_UPSTREAM_DENY);
    // env.ts refused bad entries already.
    if (!compiled.ok) throw new Error(compiled.problems.join('; '));
    this.#rules = compiled.rules;
    this.#gateway = {
      ports: [env.API_PORT, ...env.GATEHOUSE_GATEWAY_PORTS].filter((port) => port !== 0),
      localAddresses: Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((e) => e.address)),
      hostNames: env.GATEHOUSE_GATEWAY_HOSTS,
      localNames: [hostname().toLowerCase().replace(/\.$/, '')],
    };
  }

  get gateway(): GatewayListeners {
    return this.#gateway;
  }

  /** Ports bound after boot (API_PORT 0, the embedded data plane's ports). */
  addGatewayPorts(...ports: number[]): void {
    for (const port of ports) if (port !== 0 && !this.#gateway.ports.includes(port)) this.#gateway.ports.push(port);
  }

  /** Throws UPSTREAM_IS_GATEWAY / UPSTREAM_FORBIDDEN (400) on the `upstream_url` field. */
  assertUpstreamAllowed(url: string): void {
    this.#assert(checkOutboundUrl(this.#rules, this.#gateway, url), 'upstream_url');
  }

  /** An ai-gateway provider base_url: the upstream rules, as written (the data plane judges what it dials). */
  checkUpstreamUrl(url: string): OutboundVerdict {
    return checkOutboundUrl(this.#rules, this.#gateway, url);
  }

  /** A JWKS URL in a policy: https only (unless allowed explicitly), then the upstream rules. */
  checkFetchUrl(url: string): OutboundVerdict {
    return checkFetchUrl(this.#rules, this.#gateway, url);
  }

  #assert(verdict: OutboundVerdict, path: string): void {
    if (verdict.allowed) return;
    throw new AppError(ErrorCode[verdict.code], verdict.problem, [{ path, message: verdict.problem }]);
  }
}
