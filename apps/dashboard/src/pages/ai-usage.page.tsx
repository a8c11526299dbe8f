import { Code, Group, SegmentedControl, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { aiUsageQueries, totalsBy, type AiUsage, type UsageTotals } from '../api/ai-usage.api';
import { formatCost } from '../components/request-log-details';
import { PageHeader } from '../components/page-header';
import { QueryBoundary } from '../components/query-boundary';
import { EmptyState } from '../components/query-states';

const ranges = [
  { label: 'Today', value: '1' },
  { label: '7 days', value: '7' },
  { label: '30 days', value: '30' },
];

const numberFormat = new Intl.NumberFormat('en-US');

/** One breakdown (by day, model or key): requests, tokens in/out and the cost estimate, largest cost first. */
function TotalsTable({ title, label, totals }: { title: string; label: string; totals: UsageTotals[] }) {
  return (
    <Stack gap={4} data-testid={`ai-usage-${label}`}>
      <Title order={3} size="h5">
        {title}
      </Title>
      <Table striped fz="sm">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{label}</Table.Th>
            <Table.Th ta="right">requests</Table.Th>
            <Table.Th ta="right">input tokens</Table.Th>
            <Table.Th ta="right">output tokens</Table.Th>
            <Table.Th ta="right">cost</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {totals.map((total) => (
            <Table.Tr key={total.key}>
              <Table.Td ff="monospace">{total.key === '' ? '(none)' : total.key}</Table.Td>
              <Table.Td ta="right">{numberFormat.format(total.requests)}</Table.Td>
              <Table.Td ta="right">{numberFormat.format(total.input_tokens)}</Table.Td>
              <Table.Td ta="right">{numberFormat.format(total.output_tokens)}</Table.Td>
              <Table.Td ta="right">{formatCost(total.cost_usd)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function UsageBreakdown({ usage }: { usage: AiUsage }) {
  const overall = totalsBy(usage.rows, () => 'all')[0]!;
  return (
    <Stack>
      <Group gap="xl" data-testid="ai-usage-total">
        <Text size="sm">
          {numberFormat.format(overall.requests)} requests from {usage.from} to {usage.to}
        </Text>
        <Text size="sm">
          {numberFormat.format(overall.input_tokens)} input / {numberFormat.format(overall.output_tokens)} output tokens
        </Text>
        <Text size="sm" fw={600}>
          {formatCost(overall.cost_usd)} estimated
        </Text>
      </Group>
      <TotalsTable
        title="By day (UTC)"
        label="day"
        totals={totalsBy(usage.rows, (row) => row.day).sort((a, b) => b.key.localeCompare(a.key))}
      />
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <TotalsTable
          title="By model"
          label="model"
          totals={totalsBy(usage.rows, (row) => (row.provider === '' ? row.model : `${row.provider}:${row.model}`))}
        />
        <TotalsTable title="By client key" label="key" totals={totalsBy(usage.rows, (row) => row.client_key)} />
      </SimpleGrid>
    </Stack>
  );
}

/** Tokens and estimated cost of ai-gateway traffic by day, model and client key (GET /api/ai-usage). */
export function AiUsagePage() {
  const [days, setDays] = useState('7');
  const usage = useQuery(aiUsageQueries.byDays(Number(days)));
  return (
    <Stack>
      <PageHeader
        title="AI usage"
        description="Tokens and estimated cost of requests through ai-gateway, from the request log. Client keys are shown as hashes; costs come from the model catalog or the policy's prices."
        actions={<SegmentedControl data={ranges} value={days} onChange={setDays} />}
      />
      <QueryBoundary
        query={usage}
        loadingLabel="Loading AI usage…"
        errorTitle="Could not load AI usage"
        isEmpty={(data) => data.rows.length === 0}
        empty={
          <EmptyState title="No ai-gateway requests in this range">
            Add an <Code>ai-gateway</Code> action to an endpoint&apos;s policy and point an OpenAI or Anthropic SDK at
            it; its requests are counted here.
          </EmptyState>
        }
      >
        {(data) => <UsageBreakdown usage={data} />}
      </QueryBoundary>
    </Stack>
  );
}
