import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { AgentTunnels } from '../agent/agent-tunnels.js';
import type { McpAffinity } from '../agent/mcp-affinity.js';
import type { ConfigStore } from '../config/config-store.js';
import type { RequestEventSink } from '../events/request-event.js';
import type { DataplaneMetrics } from '../metrics.js';
import type { OutboundGuard } from '../ports/outbound-guard.js';
import type { ShadowEvaluator } from './shadow-evaluation.js';
import type { ClientIpResolver } from './client-ip.js';
import type { LongLivedStreams } from './long-lived-streams.js';

/**
 * What the request path needs from the data plane, built once by `createDataplane` and shared by the HTTP entry, the
 * upgrade entry and the upstream exchange (its own module so none of them imports another for it).
 */
export interface ProxyDependencies {
  store: ConfigStore;
  /** Keep-alive pools to upstreams (an undici Agent: one pool per origin). */
  dispatcher: Dispatcher;
  metrics: DataplaneMetrics;
  sink: RequestEventSink;
  logger: Logger;
  clientIps: ClientIpResolver;
  /** `conn.server_region` (GATEHOUSE_SERVER_REGION); undefined reads ''. */
  serverRegion: string | undefined;
  /** Largest request body buffered for a policy that reads it (413 above), and for response find-replace. */
  maxBodyBytes: number;
  /** Largest JSON request body read to check it for MCP messages (413 MCP_BODY_TOO_LARGE above). */
  mcpMaxBodyBytes: number;
  /** Upstream idle timeout: waiting for response headers, or between two body chunks. */
  idleTimeoutMs: number;
  /** How many forward-internal hops one request may take. */
  hopLimit: number;
  /** This installation's RFC 8586 CDN-Loop id (`loop-detection.ts`). */
  loopId: string;
  /** More CDN-Loop entries than this on arrival is a loop across proxies. */
  maxProxyHops: number;
  /** The operator's outbound rules at dial time (upstreams, upgrades). */
  outbound: OutboundGuard;
  /** SSE responses and spliced upgrades, ended on purpose by a drain (`long-lived-streams.ts`). */
  streams: LongLivedStreams;
  /** Live agent tunnels: requests to agent endpoints go over them (`agent/agent-tunnels.ts`). */
  agentTunnels: AgentTunnels | undefined;
  /** Which pool member holds an MCP session (`agent/mcp-affinity.ts`). */
  mcpAffinity: McpAffinity;
  /** Evaluates endpoints' shadow policies on isolated ports (`shadow-evaluation.ts`). */
  shadows: ShadowEvaluator;
}
