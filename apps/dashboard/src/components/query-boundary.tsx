import type { ReactNode } from 'react';
import { ErrorState, LoadingState } from './query-states';

/** What QueryBoundary reads of a TanStack Query result; useQuery's and useInfiniteQuery's both fit. */
export type QueryOutcome<Data> =
  | { status: 'pending'; refetch: () => Promise<unknown> }
  | { status: 'error'; error: unknown; refetch: () => Promise<unknown> }
  | { status: 'success'; data: Data; refetch: () => Promise<unknown> };

export interface QueryBoundaryProps<Data> {
  query: QueryOutcome<Data>;
  /** Said while the first answer is on its way, e.g. "Loading API keys…". */
  loadingLabel: string;
  /** Heads the error, e.g. "Could not load API keys"; the error's own sentence and "Try again" follow. */
  errorTitle: string;
  /** When the answer holds nothing to show, `empty` stands in for the children. */
  isEmpty?: (data: Data) => boolean;
  empty?: ReactNode;
  children: (data: Data) => ReactNode;
}

/** The states every page that loads something goes through: loading, failed (with a retry), empty, loaded. */
export function QueryBoundary<Data>({
  query,
  loadingLabel,
  errorTitle,
  isEmpty,
  empty,
  children,
}: QueryBoundaryProps<Data>) {
  if (query.status === 'pending') return <LoadingState label={loadingLabel} />;
  if (query.status === 'error') {
    return <ErrorState title={errorTitle} error={query.error} onRetry={() => void query.refetch()} />;
  }
  if (isEmpty?.(query.data)) return empty;
  return children(query.data);
}
