import { act, renderHook } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useRequestLogTail, type RequestLogSummary } from './request-logs.api';

/** Stands in for the browser's EventSource; tests push messages through the last one opened. */
class FakeEventSource {
  static opened: FakeEventSource[] = [];
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  listeners = new Map<string, (message: MessageEvent<string>) => void>();
  closed = false;
  constructor(
    readonly url: string,
    readonly init?: EventSourceInit,
  ) {
    FakeEventSource.opened.push(this);
  }
  addEventListener(type: string, listener: (message: MessageEvent<string>) => void): void {
    this.listeners.set(type, listener);
  }
  removeEventListener(type: string): void {
    this.listeners.delete(type);
  }
  close(): void {
    this.closed = true;
  }
  /** What the API sends: `event: request_log`, one request per event. */
  emit(data: unknown, type = 'request_log'): void {
    this.listeners.get(type)?.(new MessageEvent(type, { data: JSON.stringify(data) }));
  }
}

function requestLog(id: string): RequestLogSummary {
  return { id, timestamp: '2026-11-24T09:00:00Z', method: 'GET', path: '/', status: 200 } as RequestLogSummary;
}

afterEach(() => {
  FakeEventSource.opened = [];
  vi.unstubAllGlobals();
});

describe('useRequestLogTail', () => {
  it('opens nothing while off', () => {
    vi.stubGlobal('EventSource', FakeEventSource);
    renderHook(() => useRequestLogTail(false, {}));
    expect(FakeEventSource.opened).toHaveLength(0);
  });

  it('streams request_log events with the filters and cookies, newest first, without duplicates, and closes when off', () => {
    vi.stubGlobal('EventSource', FakeEventSource);
    const filters = { endpoint_id: 'ep_1', status: '429' };
    const { result, rerender } = renderHook(({ enabled }) => useRequestLogTail(enabled, filters), {
      initialProps: { enabled: true },
    });
    const source = FakeEventSource.opened[0]!;
    expect(source.url).toBe('/api/request-logs/stream?endpoint_id=ep_1&status=429');
    expect(source.init?.withCredentials).toBe(true);

    act(() => source.onopen?.());
    expect(result.current.connected).toBe(true);
    act(() => source.emit(requestLog('req_1')));
    act(() => source.emit(requestLog('req_2')));
    act(() => source.emit(requestLog('req_1')));
    act(() => source.emit(requestLog('req_9'), 'message'));
    expect(result.current.rows.map((row) => row.id)).toEqual(['req_2', 'req_1']);

    rerender({ enabled: false });
    expect(source.closed).toBe(true);
    expect(result.current.rows).toEqual([]);
    expect(result.current.connected).toBe(false);
  });
});
