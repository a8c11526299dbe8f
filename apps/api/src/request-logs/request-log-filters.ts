import { callerIdentifiers } from '@gatehouse/contracts';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { addressInRange, parseClientIpFilter } from '../traffic-policy/policy-engine';
import type { RequestLogFiltersQuery, RequestLogSummary } from './request-logs.dto';

/** The parsed filters. The repository turns them into SQL; the live tail applies the same rules in memory. */
export interface RequestLogFilters {
  endpointId?: string;
  /** Inclusive range: `404` → [404, 404], `4xx` → [400, 499]. */
  status?: { min: number; max: number };
  method?: string;
  /** An exact address, or a range (CIDR; leading IPv4 octets arrive here as their CIDR). */
  clientIp?: { address: string } | { range: string };
  action?: string;
  from?: Date;
  to?: Date;
  /** Lower-cased substring of path, host, MCP method or MCP tool. */
  q?: string;
  /** Exact MCP tool name. */
  tool?: string;
  /** Exact caller identifier (any of the caller's identifiers). */
  caller?: string;
  /** Only requests the shadow policy would have decided differently. */
  shadowDiffers?: true;
}

/** Position in the newest-first order: (timestamp, id) of the last row of a page. */
export interface RequestLogCursor {
  timestamp: Date;
  id: string;
}

export function parseRequestLogFilters(query: RequestLogFiltersQuery): RequestLogFilters {
  const filters: RequestLogFilters = {};
  if (query.endpoint_id !== undefined) filters.endpointId = query.endpoint_id;
  if (query.status !== undefined) {
    const text = query.status.toLowerCase();
    filters.status = text.endsWith('xx')
      ? { min: Number(text[0]) * 100, max: Number(text[0]) * 100 + 99 }
      : { min: Number(text), max: Number(text) };
  }
  if (query.method !== undefined) filters.method = query.method.toUpperCase();
  if (query.client_ip !== undefined) {
    const clientIp = parseClientIpFilter(query.client_ip);
    // The query schema already refused anything else; this keeps the type honest.
    if (clientIp === undefined) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, 'The request is invalid', [
        { path: 'client_ip', message: 'an IP address, a CIDR or the leading octets of an IPv4 address' },
      ]);
    }
    filters.clientIp = clientIp;
  }
  if (query.action !== undefined) filters.action = query.action;
  if (query.from !== undefined) filters.from = new Date(query.from);
  if (query.to !== undefined) filters.to = new Date(query.to);
  if (query.q !== undefined) filters.q = query.q.toLowerCase();
  if (query.tool !== undefined) filters.tool = query.tool;
  if (query.caller !== undefined) filters.caller = query.caller;
  if (query.shadow === 'differs') filters.shadowDiffers = true;
  return filters;
}

/** The same predicate as the SQL in RequestLogsRepository, for rows the live tail receives from the worker. */
export function matchesRequestLogFilters(log: RequestLogSummary, filters: RequestLogFilters): boolean {
  if (filters.endpointId !== undefined && log.endpoint_id !== filters.endpointId) return false;
  if (filters.status !== undefined && (log.status < filters.status.min || log.status > filters.status.max)) {
    return false;
  }
  if (filters.method !== undefined && log.method !== filters.method) return false;
  if (filters.clientIp !== undefined) {
    const inside =
      'address' in filters.clientIp
        ? log.client_ip === filters.clientIp.address
        : addressInRange(log.client_ip, filters.clientIp.range);
    if (!inside) return false;
  }
  if (filters.action !== undefined && log.decision?.action !== filters.action) return false;
  const time = Date.parse(log.timestamp);
  if (filters.from !== undefined && time < filters.from.getTime()) return false;
  if (filters.to !== undefined && time >= filters.to.getTime()) return false;
  if (filters.tool !== undefined && log.mcp?.tool !== filters.tool) return false;
  if (filters.caller !== undefined && !callerIdentifiers(log.caller).includes(filters.caller)) return false;
  if (filters.shadowDiffers === true && log.shadow?.differs !== true) return false;
  if (filters.q !== undefined) {
    const q = filters.q;
    const found =
      log.path.toLowerCase().includes(q) ||
      log.host.toLowerCase().includes(q) ||
      (log.mcp?.method.toLowerCase().includes(q) ?? false) ||
      (log.mcp?.tool.toLowerCase().includes(q) ?? false);
    if (!found) return false;
  }
  return true;
}

export function encodeRequestLogCursor(cursor: RequestLogCursor): string {
  return Buffer.from(JSON.stringify([cursor.timestamp.toISOString(), cursor.id])).toString('base64url');
}

export function decodeRequestLogCursor(text: string): RequestLogCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      const timestamp = new Date(value[0]);
      if (!Number.isNaN(timestamp.getTime())) return { timestamp, id: value[1] };
    }
  } catch {
    // Reported below.
  }
  throw new AppError(ErrorCode.VALIDATION_FAILED, 'The request is invalid', [
    { path: 'before', message: 'not a cursor from next_page_uri' },
  ]);
}
