import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { renderWithProviders } from '../test-render';
import { PagedTable, type TableColumn } from './paged-table';

interface Person {
  id: string;
  name: string;
}

const columns: Array<TableColumn<Person>> = [
  { header: 'Name', cell: (person) => person.name },
  { label: 'Actions', cell: (person) => <button type="button">Remove {person.name}</button> },
];

/** Two pages of people, newest first, as the API pages lists: a cursor to the next page until the last one. */
const pages: Record<string, { people: Person[]; next: string | null }> = {
  first: { people: [{ id: 'p3', name: 'Grace' }], next: 'second' },
  second: { people: [{ id: 'p2', name: 'Ada' }], next: null },
};

function PeopleTable({ empty = false }: { empty?: boolean }) {
  const people = useInfiniteQuery({
    queryKey: ['people', empty],
    queryFn: ({ pageParam }) => Promise.resolve(empty ? { people: [], next: null } : pages[pageParam]!),
    initialPageParam: 'first',
    getNextPageParam: (lastPage) => lastPage.next ?? undefined,
    select: (data) => data.pages.flatMap((page) => page.people),
  });
  return (
    <PagedTable
      query={people}
      loadingLabel="Loading people…"
      errorTitle="Could not load people"
      empty={<p>Nobody here</p>}
      columns={columns}
      rowKey={(person) => person.id}
      rowProps={(person) => ({ 'data-person': person.id })}
      minWidth={400}
      testId="people-table"
      loadMoreLabel="Load older people"
    />
  );
}

describe('PagedTable', () => {
  it('shows one row per item under its headers and loads older pages on request', async () => {
    const user = userEvent.setup({ delay: null });
    renderWithProviders(<PeopleTable />);
    const table = await screen.findByTestId('people-table');
    expect(within(table).getByRole('columnheader', { name: 'Name' })).toBeTruthy();
    expect(within(table).getByRole('columnheader', { name: 'Actions' })).toBeTruthy();
    expect(within(table).getAllByRole('row')).toHaveLength(2);
    expect(table.querySelector('tr[data-person="p3"]')?.textContent).toContain('Grace');

    await user.click(screen.getByRole('button', { name: 'Load older people' }));
    await waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(3));
    expect(within(table).getByText('Ada')).toBeTruthy();
    // The last page is loaded: nothing more to ask for.
    expect(screen.queryByRole('button', { name: 'Load older people' })).toBeNull();
  });

  it('shows the empty state, not an empty table', async () => {
    renderWithProviders(<PeopleTable empty />);
    expect(await screen.findByText('Nobody here')).toBeTruthy();
    expect(screen.queryByTestId('people-table')).toBeNull();
  });

  it('shows a plain query in one go, the rows narrowed as asked, and offers no Load more', async () => {
    function Everyone() {
      const people = useQuery({
        queryKey: ['everyone'],
        queryFn: () => Promise.resolve([...pages.first!.people, ...pages.second!.people]),
      });
      return (
        <PagedTable
          query={people}
          rows={(loaded) => loaded.filter((person) => person.name !== 'Ada')}
          loadingLabel="Loading people…"
          errorTitle="Could not load people"
          empty={<p>Nobody here</p>}
          columns={columns}
          rowKey={(person) => person.id}
          minWidth={400}
          testId="people-table"
        />
      );
    }
    renderWithProviders(<Everyone />);
    expect(screen.getByRole('status').textContent).toBe('Loading people…');
    expect(await screen.findByRole('button', { name: 'Remove Grace' })).toBeTruthy();
    expect(screen.queryByText('Ada')).toBeNull();
    expect(screen.queryByRole('button', { name: /^Load/ })).toBeNull();
  });
});
