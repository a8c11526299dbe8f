import { createHmac, randomBytes } from 'node:crypto';
import type { HeaderMap } from '@gatehouse/traffic-policy';

/**
 * Forwarding loops across processes (RFC 8586 `CDN-Loop`). `hopLimit` bounds forward-internal chains inside one
 * request's policy walk; it cannot see a request that leaves the data plane and comes back in through the traffic
 * port (an upstream that is the gateway itself, or two gateways pointing at each other). So every request a data
 * plane forwards carries this installation's id appended to `CDN-Loop`, and a request that arrives with that id
 * already in it has been here before: it is answered 508 LOOP_DETECTED instead of being forwarded again, so a loop
 * costs one extra hop and one extra request-log row, not an unbounded amplification.
 *
 * The client's own CDN-Loop entries are kept (RFC 8586 §2: a CDN appends, it never removes), and counted: more
 * entries than `maxProxyHops` is refused too, which bounds loops through proxies that do not know our id.
 *
 * The id is not a secret that grants anything: a client that learns it (an upstream could echo request headers) and
 * sends it can only make its own request fail, which it could do anyway. It is still unguessable (derived from the
 * data-plane token with an HMAC, or random per process), so it does not reveal the deployment and cannot be
 * collided with another installation's: two Gatehouse installs chained on purpose do not take each other for a loop.
 */
export const cdnLoopHeader = 'cdn-loop';

/** One id per installation: every data plane sharing the data-plane token appends, and recognizes, the same one. */
export function loopIdFromSecret(secret: string): string {
  return `gatehouse-${createHmac('sha256', secret).update('gatehouse cdn-loop id').digest('base64url').slice(0, 22)}`;
}

/** Without a shared secret (a data plane created directly, as tests do): one id for this process. */
export function randomLoopId(): string {
  return `gatehouse-${randomBytes(16).toString('base64url')}`;
}

export type LoopCheck = { loop: false } | { loop: true; reason: 'own-id' | 'too-many-hops'; hops: number };

/** Reads the request's CDN-Loop entries: our id among them, or more of them than `maxProxyHops`, is a loop. */
export function detectLoop(headers: HeaderMap, loopId: string, maxProxyHops: number): LoopCheck {
  const values = headers.get(cdnLoopHeader);
  if (values === undefined) return { loop: false };
  let hops = 0;
  let own = false;
  for (const value of values) {
    for (const info of value.split(',')) {
      // cdn-info = cdn-id *( OWS ";" OWS parameter ); the id is what precedes the first ";".
      const semicolon = info.indexOf(';');
      const id = (semicolon === -1 ? info : info.slice(0, semicolon)).trim();
      if (id === '') continue;
      hops++;
      if (id === loopId) own = true;
    }
  }
  if (own) return { loop: true, reason: 'own-id', hops };
  if (hops >= maxProxyHops) return { loop: true, reason: 'too-many-hops', hops };
  return { loop: false };
}
