import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import {
  checkOutboundAddress,
  checkFetchUrl,
  checkOutboundHost,
  defaultOutboundRules,
  type GatewayListeners,
  type OutboundRules,
  type OutboundVerdict,
} from '@gatehouse/contracts';
import { buildConnector } from 'undici';

/** Error codes a refused dial carries (`upstreamErrorCode` turns them into the runtime codes of the same name). */
export const outboundErrorCodes = {
  UPSTREAM_IS_GATEWAY: 'GATEHOUSE_UPSTREAM_IS_GATEWAY',
  UPSTREAM_FORBIDDEN: 'GATEHOUSE_UPSTREAM_FORBIDDEN',
} as const;

export class OutboundRefusedError extends Error {
  readonly code: string;
  constructor(readonly verdict: Extract<OutboundVerdict, { allowed: false }>) {
    super(verdict.problem);
    this.name = 'OutboundRefusedError';
    this.code = outboundErrorCodes[verdict.code];
  }
}

/** The machine's interface addresses: an upstream on one of them at a gateway port is the gateway itself. */
export function localInterfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
}

/**
 * The dial-time half of the outbound rules (`@gatehouse/contracts` outbound-rules): every connection the data plane
 * opens on a policy editor's behalf — upstream requests, WebSocket upgrades, JWKS fetches — goes through it.
 * - IP literals are judged before connecting (Node does not call `lookup` for them);
 * - names are resolved by `lookup`, which drops every address the rules refuse before Node connects, so a name that
 *   resolves (or re-resolves: DNS rebinding) to a forbidden address is never dialed;
 * - after connecting, the socket's actual peer address and port are judged once more, which also catches a name
 *   that resolves to this machine at one of the gateway's own ports (the lookup cannot know the port).
 */
export class OutboundGuard {
  readonly #gateway: { ports: number[]; localAddresses: string[]; hostNames: string[] };

  constructor(
    private readonly rules: OutboundRules = defaultOutboundRules(),
    gateway: Partial<GatewayListeners> = {},
  ) {
    this.#gateway = {
      ports: [...(gateway.ports ?? [])],
      localAddresses: [...(gateway.localAddresses ?? localInterfaceAddresses())],
      hostNames: [...(gateway.hostNames ?? [])],
    };
  }

  /** Ports known only once the servers listen (port 0 in tests and the embedded shape). */
  addGatewayPorts(...ports: number[]): void {
    for (const port of ports) if (!this.#gateway.ports.includes(port)) this.#gateway.ports.push(port);
  }

  get gateway(): GatewayListeners {
    return this.#gateway;
  }

  /** Before dialing `host:port` as written in a URL: IP literals and `localhost` are judged fully here. */
  checkHost(host: string, port: number): OutboundVerdict {
    return checkOutboundHost(this.rules, this.#gateway, host, port);
  }

  /** A URL fetched on a policy's behalf (a JWKS): https only unless allowed explicitly, then as an upstream. */
  checkFetchUrl(url: string): OutboundVerdict {
    return checkFetchUrl(this.rules, this.#gateway, url);
  }

  /** A connected socket's actual peer; undefined when it is allowed. */
  checkSocket(socket: Socket, name: string | undefined): OutboundRefusedError | undefined {
    const address = socket.remoteAddress;
    const port = socket.remotePort;
    if (address === undefined || port === undefined) return undefined;
    const verdict = checkOutboundAddress(this.rules, this.#gateway, address, port, name);
    return verdict.allowed ? undefined : new OutboundRefusedError(verdict);
  }

  /** `lookup` for net/tls/http: resolves, then keeps only the addresses the rules allow (port-independent checks). */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error !== null) {
        callback(error, '', 0);
        return;
      }
      let refused: OutboundVerdict | undefined;
      const kept = addresses.filter((entry) => {
        // Port -1: no gateway port matches here; checkSocket judges the port once connected.
        const verdict = checkOutboundAddress(this.rules, this.#gateway, entry.address, -1, hostname);
        if (!verdict.allowed) refused ??= verdict;
        return verdict.allowed;
      });
      if (kept.length === 0) {
        const verdict = refused ?? { allowed: false, code: 'UPSTREAM_FORBIDDEN', problem: `${hostname}: no address` };
        callback(new OutboundRefusedError(verdict as Extract<OutboundVerdict, { allowed: false }>), '', 0);
        return;
      }
      if (options.all === true) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, kept);
      else callback(null, kept[0]!.address, kept[0]!.family);
    });
  };

  /** An undici `connect` function that applies the three checks above. */
  connector(options: buildConnector.BuildOptions = {}): buildConnector.connector {
    const inner = buildConnector({ ...options, lookup: this.lookup });
    return (connectOptions, callback) => {
      const host = connectOptions.hostname;
      const port =
        connectOptions.port === '' || connectOptions.port === undefined
          ? connectOptions.protocol === 'https:'
            ? 443
            : 80
          : Number(connectOptions.port);
      const before = this.checkHost(host, port);
      if (!before.allowed) {
        callback(new OutboundRefusedError(before), null);
        return;
      }
      const name = isIP(host.replace(/^\[|\]$/g, '')) === 0 ? host : undefined;
      return inner(connectOptions, (error, socket) => {
        if (error !== null) {
          callback(error, null);
          return;
        }
        const refused = this.checkSocket(socket, name);
        if (refused !== undefined) {
          socket.destroy();
          callback(refused, null);
          return;
        }
        callback(null, socket);
      });
    };
  }
}
