import { MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactNode } from 'react';
import { createMemoryRouter, RouterProvider, type RouteObject } from 'react-router';
import type { CurrentActor } from './api/auth.api';
import { authKeys } from './api/query-keys';
import { createQueryClient } from './api/query-client';

export const signedInEditor: CurrentActor = {
  type: 'user',
  id: 'usr_1',
  name: 'editor@example.com',
  role: 'editor',
  user: null,
};

/** Renders routes as the app does (Mantine, TanStack Query, a router), with a signed-in actor already known. */
export function renderRoutes(
  routes: RouteObject[],
  initialPath: string,
  actor: CurrentActor | null = signedInEditor,
  { setupRequired = false }: { setupRequired?: boolean } = {},
) {
  const queryClient = createQueryClient();
  queryClient.setQueryData(authKeys.me(), actor);
  queryClient.setQueryData(authKeys.setupStatus(), { setup_required: setupRequired });
  const router = createMemoryRouter(routes, { initialEntries: [initialPath] });
  const view = render(
    <MantineProvider>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>,
  );
  return { ...view, router, queryClient };
}

/**
 * Renders a component with Mantine and a query client that never retries, so a failing query fails at once and a
 * test decides when it is tried again.
 */
export function renderWithProviders(ui: ReactNode) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const view = render(
    <MantineProvider>
      <QueryClientProvider client={queryClient}>{ui}</QueryClientProvider>
    </MantineProvider>,
  );
  return { ...view, queryClient };
}

/** A fetch stand-in that records requests and answers from a handler. */
export function stubFetch(handler: (request: Request) => Response | Promise<Response>) {
  const requests: Request[] = [];
  const fetchStub = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    requests.push(request.clone());
    return handler(request);
  };
  return { fetchStub, requests };
}

export function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** Stands in for the browser's EventSource; tests push messages through the last one opened. */
export class FakeEventSource {
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
