import type { HeaderMap, McpFacts } from './context.js';

/** Bodies larger than this are not parsed for MCP detection: the method travels in the first bytes anyway. */
export const maxMcpDetectionBytes = 64 * 1024;

const toolLikeMethods = new Set(['tools/call', 'resources/read', 'prompts/get']);

/**
 * Recognizes an MCP (JSON-RPC) call: from the `Mcp-Method`/`Mcp-Name` headers of newer clients, or else from a
 * size-capped parse of the body. Returns undefined when the request is not MCP.
 */
export function detectMcp(headers: HeaderMap, body?: Uint8Array): McpFacts | undefined {
  const protocolVersion = headers.get('mcp-protocol-version')?.[0] ?? '';
  const headerMethod = headers.get('mcp-method')?.[0];
  if (headerMethod !== undefined) {
    return { method: headerMethod, tool: headers.get('mcp-name')?.[0] ?? '', protocolVersion };
  }
  if (body === undefined || body.length === 0 || body.length > maxMcpDetectionBytes) {
    return protocolVersion === '' ? undefined : { method: '', tool: '', protocolVersion };
  }
  let message: unknown;
  try {
    message = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
  // A batch is described by its first call.
  const first = Array.isArray(message) ? (message[0] as unknown) : message;
  if (first === null || typeof first !== 'object') return undefined;
  const { jsonrpc, method, params } = first as { jsonrpc?: unknown; method?: unknown; params?: unknown };
  if (jsonrpc !== '2.0' || typeof method !== 'string') return undefined;
  const name = params !== null && typeof params === 'object' ? (params as { name?: unknown; uri?: unknown }) : {};
  const tool = toolLikeMethods.has(method)
    ? typeof name.name === 'string'
      ? name.name
      : typeof name.uri === 'string'
        ? name.uri
        : ''
    : '';
  return { method, tool, protocolVersion };
}
