import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Authtoken, CreatedAuthtoken } from '../api/authtokens.api';
import { SessionGate } from '../session/session-gate';
import { jsonResponse, renderRoutes, signedInEditor, stubFetch } from '../test-render';
import { AuthtokensPage } from './authtokens.page';

const active: Authtoken = {
  id: 'atk_1',
  uri: '/api/authtokens/atk_1',
  description: 'laptop MCP server',
  prefix: 'gat_0a1b2c3d',
  url_patterns: ['*.team-a.internal'],
  created_by: 'usr_1',
  last_used_at: null,
  revoked_at: null,
  created_at: '2026-12-06T01:00:00Z',
};
const revoked: Authtoken = {
  ...active,
  id: 'atk_0',
  uri: '/api/authtokens/atk_0',
  description: 'old VM',
  prefix: 'gat_99887766',
  url_patterns: [],
  revoked_at: '2026-12-06T01:30:00Z',
};

function renderPage(actor = signedInEditor) {
  return renderRoutes(
    [{ element: <SessionGate />, children: [{ path: '/authtokens', element: <AuthtokensPage /> }] }],
    '/authtokens',
    actor,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe('Authtokens page', () => {
  it('lists tokens with their scope and status, and offers revoke only for active ones', async () => {
    vi.stubGlobal(
      'fetch',
      stubFetch(() => jsonResponse(200, { authtokens: [active, revoked], next_page_uri: null })).fetchStub,
    );
    renderPage();
    const table = await screen.findByTestId('authtokens-table');
    expect(within(table).getByText('*.team-a.internal')).toBeTruthy();
    expect(within(table).getByText('any host')).toBeTruthy();
    expect(within(table).getByText('active')).toBeTruthy();
    expect(within(table).getByText(/revoked/)).toBeTruthy();
    expect(within(table).getAllByRole('button', { name: /Revoke/ })).toHaveLength(1);
  });

  it('refuses a bad host pattern with the API rule before sending, then shows the secret once with an agent config', async () => {
    const created: CreatedAuthtoken = {
      ...active,
      id: 'atk_2',
      url_patterns: ['mcp.example.internal'],
      secret: 'gat_0a1b2c3d_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    };
    const { fetchStub, requests } = stubFetch((request) =>
      request.method === 'POST'
        ? jsonResponse(201, created)
        : jsonResponse(200, { authtokens: [], next_page_uri: null }),
    );
    vi.stubGlobal('fetch', fetchStub);
    const user = userEvent.setup({ delay: null });
    renderPage();
    await user.click((await screen.findAllByRole('button', { name: 'New authtoken' }))[0]!);
    await user.type(screen.getByRole('textbox', { name: 'Description' }), 'laptop MCP server');
    const patterns = screen.getByPlaceholderText('Type a host pattern, then Enter');
    await user.type(patterns, 'https://mcp.example.internal{enter}');
    expect(await screen.findByText(/give the host only/)).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Create authtoken' }));
    expect(requests.filter((request) => request.method === 'POST')).toHaveLength(0);

    // Backspace in the empty input takes the last pattern off again.
    await user.type(patterns, '{backspace}');
    await user.type(patterns, 'mcp.example.internal{enter}');
    await user.click(screen.getByRole('button', { name: 'Create authtoken' }));
    await waitFor(() => expect(requests.filter((request) => request.method === 'POST')).toHaveLength(1));
    const post = requests.find((request) => request.method === 'POST')!;
    expect(await post.json()).toEqual({ description: 'laptop MCP server', url_patterns: ['mcp.example.internal'] });
    expect((await screen.findByTestId('authtoken-secret')).textContent).toBe(created.secret);
    expect(screen.getByTestId('authtoken-agent-config').textContent).toContain('url: https://mcp.example.internal');
  });

  it('lets viewers read without create or revoke', async () => {
    vi.stubGlobal('fetch', stubFetch(() => jsonResponse(200, { authtokens: [active], next_page_uri: null })).fetchStub);
    renderPage({ ...signedInEditor, role: 'viewer' });
    await screen.findByTestId('authtokens-table');
    expect(screen.queryByRole('button', { name: 'New authtoken' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Revoke/ })).toBeNull();
  });
});
