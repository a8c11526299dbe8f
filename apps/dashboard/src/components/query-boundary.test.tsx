import { useQuery } from '@tanstack/react-query';
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { renderWithProviders } from '../test-render';
import { QueryBoundary, type QueryOutcome } from './query-boundary';

function NameList({ query }: { query: QueryOutcome<string[]> }) {
  return (
    <QueryBoundary
      query={query}
      loadingLabel="Loading names…"
      errorTitle="Could not load names"
      isEmpty={(names) => names.length === 0}
      empty={<p>No names yet</p>}
    >
      {(names) => (
        <ul aria-label="names">
          {names.map((name) => (
            <li key={name}>{name}</li>
          ))}
        </ul>
      )}
    </QueryBoundary>
  );
}

const refetch = () => Promise.resolve();

describe('QueryBoundary', () => {
  it('says what is loading while the first answer is on its way', () => {
    renderWithProviders(<NameList query={{ status: 'pending', refetch }} />);
    expect(screen.getByRole('status').textContent).toBe('Loading names…');
    expect(screen.queryByRole('list')).toBeNull();
  });

  it('shows the error with its own sentence, and Try again asks again', async () => {
    const retry = vi.fn(refetch);
    renderWithProviders(
      <NameList query={{ status: 'error', error: new Error('The server is down'), refetch: retry }} />,
    );
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('Could not load names');
    expect(alert.textContent).toContain('The server is down');
    await userEvent.setup({ delay: null }).click(screen.getByRole('button', { name: 'Try again' }));
    expect(retry).toHaveBeenCalledOnce();
  });

  it('shows the empty state instead of an empty list', () => {
    renderWithProviders(<NameList query={{ status: 'success', data: [], refetch }} />);
    expect(screen.getByText('No names yet')).toBeTruthy();
    expect(screen.queryByRole('list')).toBeNull();
  });

  it('hands the loaded data to its children', () => {
    renderWithProviders(<NameList query={{ status: 'success', data: ['ada', 'grace'], refetch }} />);
    expect(screen.getAllByRole('listitem').map((item) => item.textContent)).toEqual(['ada', 'grace']);
    expect(screen.queryByRole('status')).toBeNull();
  });

  it('takes a TanStack query as it is: a failed query recovers with Try again', async () => {
    const answers = [() => Promise.reject(new Error('Not yet')), () => Promise.resolve(['ada'])];
    function LiveNameList() {
      const names = useQuery({ queryKey: ['names'], queryFn: () => answers.shift()!() });
      return <NameList query={names} />;
    }
    renderWithProviders(<LiveNameList />);
    expect(await screen.findByText('Not yet')).toBeTruthy();
    await userEvent.setup({ delay: null }).click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText('ada')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });
});
