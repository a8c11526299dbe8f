import { Button, Group, Table, type MantineBreakpoint, type TableProps, type TableTrProps } from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import type { ReactNode } from 'react';
import { QueryBoundary, type QueryOutcome } from './query-boundary';

/** The part of a TanStack infinite query that pages back through a list. */
export interface Paging {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => Promise<unknown>;
}

/** Fetches the next page of a list on request; nothing once the last page is loaded, or for a plain query. */
export function LoadMoreButton({ query, label = 'Load more' }: { query: Partial<Paging>; label?: string }) {
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = query;
  if (!hasNextPage || !fetchNextPage) return null;
  return (
    <Group justify="center">
      <Button variant="default" loading={isFetchingNextPage} onClick={() => void fetchNextPage()}>
        {label}
      </Button>
    </Group>
  );
}

export interface TableColumn<Row> {
  /** The header cell's text; a column without one (row actions) is named by `label` for screen readers. */
  header?: string;
  label?: string;
  cell: (row: Row) => ReactNode;
  /**
   * Hides the column below this breakpoint. Phones keep what identifies a row and its status; secondary columns
   * (created, last used, ids) go, rather than the status scrolling out of view.
   */
  visibleFrom?: MantineBreakpoint;
}

export interface PagedTableProps<Row> {
  /** An infinite query whose data is the rows loaded so far, or a plain query of every row (no paging then). */
  query: QueryOutcome<readonly Row[]> & Partial<Paging>;
  loadingLabel: string;
  errorTitle: string;
  /** Shown instead of the table when there is no row. */
  empty: ReactNode;
  /** The rows to show of those loaded (narrowed by a search, joined with live ones); all of them by default. */
  rows?: (loaded: readonly Row[]) => readonly Row[];
  columns: ReadonlyArray<TableColumn<Row>>;
  rowKey: (row: Row) => string | number;
  /** Props of a row's <tr>, `data-*` attributes included (tests find rows by them). */
  rowProps?: (row: Row) => TableTrProps & { [attribute: `data-${string}`]: string | number };
  /** Below this width the table scrolls sideways instead of squeezing its columns. */
  minWidth: number;
  /** The same on phones, where `visibleFrom` columns are hidden; `minWidth` when unset. */
  mobileMinWidth?: number;
  testId: string;
  tableProps?: TableProps;
  loadMoreLabel?: string;
}

/** A list page's table: the query's states, one row per item, and "Load more" while the API has older pages. */
export function PagedTable<Row>({
  query,
  loadingLabel,
  errorTitle,
  empty,
  rows,
  columns,
  rowKey,
  rowProps,
  minWidth,
  mobileMinWidth,
  testId,
  tableProps,
  loadMoreLabel,
}: PagedTableProps<Row>) {
  const narrow = useMediaQuery('(max-width: 48em)', false, { getInitialValueInEffect: false });
  return (
    <QueryBoundary query={query} loadingLabel={loadingLabel} errorTitle={errorTitle}>
      {(loaded) => {
        const shown = rows ? rows(loaded) : loaded;
        if (shown.length === 0) return empty;
        return (
          <>
            <Table.ScrollContainer
              minWidth={narrow ? (mobileMinWidth ?? minWidth) : minWidth}
              // On a phone the table may scroll sideways: keyboard users must be able to reach and scroll it.
              scrollAreaProps={
                narrow
                  ? { viewportProps: { tabIndex: 0, role: 'region', 'aria-label': 'Table (scrolls sideways)' } }
                  : undefined
              }
            >
              <Table verticalSpacing="sm" {...tableProps} data-testid={testId}>
                <Table.Thead>
                  <Table.Tr>
                    {columns.map((column, index) => (
                      <Table.Th
                        key={column.header ?? column.label ?? index}
                        aria-label={column.label}
                        visibleFrom={column.visibleFrom}
                      >
                        {column.header}
                      </Table.Th>
                    ))}
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {shown.map((row) => (
                    <Table.Tr key={rowKey(row)} {...rowProps?.(row)}>
                      {columns.map((column, index) => (
                        <Table.Td key={column.header ?? column.label ?? index} visibleFrom={column.visibleFrom}>
                          {column.cell(row)}
                        </Table.Td>
                      ))}
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            <LoadMoreButton query={query} label={loadMoreLabel} />
          </>
        );
      }}
    </QueryBoundary>
  );
}
