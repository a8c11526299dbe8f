import { AreaChart, BarChart, LineChart } from '@mantine/charts';
import {
  Anchor,
  Card,
  Group,
  Paper,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
  type MantineColor,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import {
  trafficQueries,
  trafficRangeOptions,
  type TrafficPoint,
  type TrafficRange,
  type TrafficSummary,
} from '../api/traffic.api';
import { paths } from '../paths';
import { EmptyState, ErrorState, LoadingState } from './query-states';

const numberFormat = new Intl.NumberFormat('en-US');
const compactFormat = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export function formatCount(value: number): string {
  return value >= 100_000 ? compactFormat.format(value) : numberFormat.format(value);
}

export function formatLatency(milliseconds: number | null): string {
  if (milliseconds === null) return '–';
  if (milliseconds === 0) return '0 ms';
  if (milliseconds >= 1000) return `${(milliseconds / 1000).toFixed(milliseconds >= 10_000 ? 0 : 1)} s`;
  return `${milliseconds >= 10 ? Math.round(milliseconds) : milliseconds.toFixed(1)} ms`;
}

/** Axis and tooltip label of a bucket: the time of day, with the weekday over 7 days. */
function bucketLabel(iso: string, range: TrafficRange): string {
  const date = new Date(iso);
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return range === '7d' ? `${date.toLocaleDateString(undefined, { weekday: 'short' })} ${time}` : time;
}

/** A rule as people name it: its name, else its position in the policy (1-based, as the editor shows lines). */
export function ruleLabel(rule: TrafficSummary['top_denied_rules'][number]): string {
  const position = rule.rule_index >= 0 ? `${rule.phase} rule ${rule.rule_index + 1}` : 'unknown rule';
  return rule.rule_name ? `${rule.rule_name} (${position})` : position;
}

// Mantine color tokens (not hex): the charts follow the light and dark color schemes.
const outcomeColors = { requests: 'indigo.6', denied: 'red.6', rateLimited: 'orange.6', upstream: 'grape.6' } as const;
const ruleColors: MantineColor[] = ['red.7', 'orange.6', 'pink.6', 'yellow.7', 'violet.6'];

function ChartCard({ title, description, children }: { title: string; description: string; children: ReactNode }) {
  return (
    <Card withBorder padding="md" component="section" aria-label={title}>
      <Title order={2} size="h5">
        {title}
      </Title>
      <Text size="xs" c="dimmed" mb="sm">
        {description}
      </Text>
      {children}
    </Card>
  );
}

function Stat({ label, value, color, testId }: { label: string; value: string; color?: string; testId: string }) {
  return (
    <Paper withBorder p="sm" radius="sm">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text fw={700} size="xl" c={color} data-testid={testId}>
        {value}
      </Text>
    </Paper>
  );
}

function TopTable({
  caption,
  columns,
  rows,
  empty,
  testId,
}: {
  caption: string;
  columns: [string, string];
  rows: { key: string; label: ReactNode; count: number }[];
  empty: string;
  testId: string;
}) {
  return (
    <ChartCard title={caption} description={`Largest first, over the selected window`}>
      {rows.length === 0 ? (
        <Text size="sm" c="dimmed">
          {empty}
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={260}>
          <Table data-testid={testId} verticalSpacing={4}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{columns[0]}</Table.Th>
                <Table.Th ta="right">{columns[1]}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((row) => (
                <Table.Tr key={row.key}>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>{row.label}</Table.Td>
                  <Table.Td ta="right">{formatCount(row.count)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </ChartCard>
  );
}

/** The request log filtered to what a top-list entry names (the log's own URL filters). */
function requestLogLink(filters: Record<string, string>): string {
  return `${paths.requestLogs}?${new URLSearchParams(filters).toString()}`;
}

function TrafficBody({ summary, endpointId }: { summary: TrafficSummary; endpointId: string | null }) {
  const { range, totals } = summary;
  const seriesRules = summary.top_denied_rules.slice(0, ruleColors.length);
  const hasOtherRules = summary.series.some((point) => (point.denied_by_rule.other ?? 0) > 0);
  const data = summary.series.map((point: TrafficPoint) => ({
    label: bucketLabel(point.time, range),
    requests: point.requests,
    denied: point.denied,
    rate_limited: point.rate_limited,
    upstream_errors: point.upstream_errors,
    p50: point.p50_ms,
    p95: point.p95_ms,
    ...Object.fromEntries(
      [...seriesRules.map((rule) => rule.key), 'other'].map((key) => [key, point.denied_by_rule[key] ?? 0]),
    ),
  }));
  // Ticks need room: at 390 px a label every ~70 px keeps them legible.
  const xAxisProps = { minTickGap: 28, interval: 'preserveStartEnd' as const };
  const chartHeight = 220;
  // A line needs two neighbouring points: sparse latency (a few busy buckets) is drawn as dots.
  const sparseLatency = data.filter((point) => point.p50 !== null).length <= 20;
  const scope: Record<string, string> = endpointId === null ? {} : { endpoint_id: endpointId };

  return (
    <Stack gap="md">
      <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }} spacing="sm">
        <Stat label="Requests" value={formatCount(totals.requests)} testId="traffic-total-requests" />
        <Stat label="Denied" value={formatCount(totals.denied)} testId="traffic-total-denied" />
        <Stat label="429 rate limited" value={formatCount(totals.rate_limited)} testId="traffic-total-429" />
        <Stat label="5xx errors" value={formatCount(totals.upstream_errors)} testId="traffic-total-5xx" />
        <Stat label="p50 latency" value={formatLatency(totals.p50_ms)} testId="traffic-p50" />
        <Stat label="p95 latency" value={formatLatency(totals.p95_ms)} testId="traffic-p95" />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md">
        <ChartCard title="Requests" description="Every request the data planes handled, per bucket">
          <AreaChart
            h={chartHeight}
            data={data}
            dataKey="label"
            series={[{ name: 'requests', label: 'Requests', color: outcomeColors.requests }]}
            curveType="monotone"
            withDots={false}
            xAxisProps={xAxisProps}
            valueFormatter={formatCount}
            data-testid="chart-requests"
          />
        </ChartCard>
        <ChartCard
          title="Denied, 429 and 5xx"
          description="Refused by policy, rate limited, and upstream or gateway errors"
        >
          <BarChart
            h={chartHeight}
            data={data}
            dataKey="label"
            type="stacked"
            withLegend
            legendProps={{ verticalAlign: 'bottom' }}
            series={[
              { name: 'denied', label: 'Denied', color: outcomeColors.denied },
              { name: 'rate_limited', label: '429', color: outcomeColors.rateLimited },
              { name: 'upstream_errors', label: '5xx', color: outcomeColors.upstream },
            ]}
            xAxisProps={xAxisProps}
            valueFormatter={formatCount}
            data-testid="chart-outcomes"
          />
        </ChartCard>
        <ChartCard title="Latency" description="p50 and p95 of the time the gateway took to answer, in ms">
          <LineChart
            h={chartHeight}
            data={data}
            dataKey="label"
            withLegend
            legendProps={{ verticalAlign: 'bottom' }}
            connectNulls
            withDots={sparseLatency}
            curveType="monotone"
            series={[
              { name: 'p50', label: 'p50', color: 'teal.6' },
              { name: 'p95', label: 'p95', color: 'indigo.6' },
            ]}
            xAxisProps={xAxisProps}
            valueFormatter={(value) => formatLatency(value)}
            data-testid="chart-latency"
          />
        </ChartCard>
        <ChartCard title="Denials by rule" description="Which rules refused requests (the top five; the rest as other)">
          {seriesRules.length === 0 ? (
            <Text size="sm" c="dimmed">
              No request was denied in this window.
            </Text>
          ) : (
            <BarChart
              h={chartHeight}
              data={data}
              dataKey="label"
              type="stacked"
              withLegend
              legendProps={{ verticalAlign: 'bottom' }}
              series={[
                ...seriesRules.map((rule, index) => ({
                  name: rule.key,
                  label: ruleLabel(rule),
                  color: ruleColors[index % ruleColors.length]!,
                })),
                ...(hasOtherRules ? [{ name: 'other', label: 'Other rules', color: 'gray.6' }] : []),
              ]}
              xAxisProps={xAxisProps}
              valueFormatter={formatCount}
              data-testid="chart-denials-by-rule"
            />
          )}
        </ChartCard>
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 3 }} spacing="md">
        <TopTable
          caption="Top denied rules"
          columns={['Rule', 'Denied']}
          testId="top-denied-rules"
          empty="No denials."
          rows={summary.top_denied_rules.map((rule) => ({
            key: rule.key,
            count: rule.count,
            label:
              rule.endpoint_id === null ? (
                ruleLabel(rule)
              ) : (
                <Anchor component={Link} to={paths.endpointPolicy(rule.endpoint_id)} size="sm">
                  {ruleLabel(rule)}
                </Anchor>
              ),
          }))}
        />
        <TopTable
          caption="Top denied clients"
          columns={['Client IP', 'Denied']}
          testId="top-denied-clients"
          empty="No denials."
          rows={summary.top_denied_clients.map((client) => ({
            key: client.client_ip,
            count: client.count,
            label: (
              <Anchor
                component={Link}
                to={requestLogLink({ ...scope, client_ip: client.client_ip })}
                ff="monospace"
                size="sm"
              >
                {client.client_ip}
              </Anchor>
            ),
          }))}
        />
        <TopTable
          caption="Top MCP tools"
          columns={['Tool', 'Calls']}
          testId="top-mcp-tools"
          empty="No MCP tool calls."
          rows={summary.top_mcp_tools.map((tool) => ({
            key: tool.tool,
            count: tool.count,
            label: (
              <Anchor component={Link} to={requestLogLink({ ...scope, tool: tool.tool })} ff="monospace" size="sm">
                {tool.tool}
              </Anchor>
            ),
          }))}
        />
      </SimpleGrid>
    </Stack>
  );
}

/**
 * Traffic at a glance (issue 19): totals, requests/denials/429s/5xx and p50/p95 over time, denials by rule and the top
 * lists, for the whole installation or one endpoint. The range lives in the URL (`?range=`), so a view can be shared.
 */
export function TrafficCharts({
  endpointId,
  range,
  onRangeChange,
  noTraffic,
}: {
  endpointId: string | null;
  range: TrafficRange;
  onRangeChange: (range: TrafficRange) => void;
  /** What to say when the window holds no request at all. */
  noTraffic: ReactNode;
}) {
  const summary = useQuery(trafficQueries.summary(range, endpointId));
  const rangeLabel = trafficRangeOptions.find((option) => option.value === range)?.label ?? range;
  return (
    <Stack gap="md" data-testid="traffic-charts">
      <Group justify="space-between" gap="sm">
        <Text size="sm" c="dimmed">
          Last {rangeLabel}, refreshed every 30 s
        </Text>
        <SegmentedControl
          aria-label="Time range"
          value={range}
          onChange={(value) => onRangeChange(value)}
          data={trafficRangeOptions}
          data-testid="traffic-range"
        />
      </Group>
      {summary.isPending ? (
        <LoadingState label="Loading traffic…" />
      ) : summary.isError ? (
        <ErrorState title="Could not load traffic" error={summary.error} onRetry={() => void summary.refetch()} />
      ) : summary.data.totals.requests === 0 ? (
        <EmptyState title={`No traffic in the last ${rangeLabel}`}>{noTraffic}</EmptyState>
      ) : (
        <TrafficBody summary={summary.data} endpointId={endpointId} />
      )}
    </Stack>
  );
}

/** The `?range=` of the page, 24 h when absent or unknown. */
export function parseTrafficRange(value: string): TrafficRange {
  return trafficRangeOptions.some((option) => option.value === value) ? (value as TrafficRange) : '24h';
}
