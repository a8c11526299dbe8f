import { screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AiUsage } from '../api/ai-usage.api';
import { jsonResponse, renderWithProviders, stubFetch } from '../test-render';
import { AiUsagePage } from './ai-usage.page';

afterEach(() => vi.unstubAllGlobals());

const row = (day: string, model: string, key: string, input: number, output: number, cost: number) => ({
  day,
  provider: 'openai',
  model,
  client_key: key,
  requests: 1,
  input_tokens: input,
  output_tokens: output,
  cost_usd: cost,
});

describe('AI usage page', () => {
  it('totals tokens and cost by day, model and client key', async () => {
    const usage: AiUsage = {
      from: '2026-11-30',
      to: '2026-12-06',
      rows: [
        row('2026-12-06', 'gpt-4o', 'sha256:aaaa', 100, 10, 0.00035),
        row('2026-12-06', 'gpt-4o-mini', 'sha256:bbbb', 1000, 100, 0.00021),
        row('2026-12-05', 'gpt-4o', 'sha256:bbbb', 200, 20, 0.0007),
      ],
    };
    const { fetchStub, requests } = stubFetch(() => jsonResponse(200, usage));
    vi.stubGlobal('fetch', fetchStub);
    renderWithProviders(<AiUsagePage />);
    const total = await screen.findByTestId('ai-usage-total');
    expect(total.textContent).toContain('3 requests from 2026-11-30 to 2026-12-06');
    expect(total.textContent).toContain('1,300 input / 130 output');
    const byModel = screen.getByTestId('ai-usage-model').textContent ?? '';
    // gpt-4o costs most (two requests), so it leads.
    expect(byModel.indexOf('openai:gpt-4o')).toBeLessThan(byModel.indexOf('openai:gpt-4o-mini'));
    expect(byModel).toContain('$0.00105');
    const byKey = screen.getByTestId('ai-usage-key').textContent ?? '';
    expect(byKey).toContain('sha256:bbbb');
    expect(byKey).toContain('1,200');
    const byDay = screen.getByTestId('ai-usage-day').textContent ?? '';
    expect(byDay.indexOf('2026-12-06')).toBeLessThan(byDay.indexOf('2026-12-05'));
    expect(requests[0]?.url).toContain('/api/ai-usage?days=7');
  });
});
