// Traffic at a glance (issue 19) in Debian Chromium against the real control plane, its request-log worker and a data
// plane (services.mjs): the overview's empty state before any endpoint exists, then real requests through the data
// plane — forwarded MCP tools/call requests, a denial by a named rule and a 429 from a rate limit — and the overview,
// the endpoint's Traffic tab and the endpoint list showing them, at 1440×900 and 390×844, in light and dark, each
// screen checked with axe. Every step is a named subtest; after one fails the rest fail at once naming it.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createBrowserHarness } from './browser-harness.mjs';

const admin = { email: 'admin@example.com', password: 'correct horse battery staple' };
const internalEndpointUrl = 'https://tools.example.internal';
const cloudEndpointUrl = 'https://tools.example.com';
const scannerClientIp = '203.0.113.9';
const desktop = { width: 1440, height: 900 };
const phone = { width: 390, height: 844 };

// Three rules, so each outcome has its own cause: a named deny, a rate limit of 3 per minute per token, a forward.
const overviewPolicy = `on_http_request:
  - name: Block scanners
    expressions:
      - "hasReqHeader('X-Scanner')"
    actions:
      - type: deny
        config:
          status_code: 403
  - name: Three calls a minute per token
    actions:
      - type: rate-limit
        config:
          name: per-token
          algorithm: sliding_window
          capacity: 3
          rate: 60s
          bucket_key:
            - getReqHeader('Authorization')
  - name: Forward to the tools server
    actions:
      - type: forward-internal
        config:
          url: ${internalEndpointUrl}
`;

const harness = createBrowserHarness({ name: 'overview' });
const { step, screenshot, api, waitForDataplaneToApplyLatestConfig } = harness;
let services;
let page;
let cloudEndpointId;

/** One JSON-RPC request through the data plane to the cloud endpoint. */
function sendThroughDataplane({ headers = {}, message }) {
  return harness.sendThroughDataplane(cloudEndpointUrl, {
    path: '/mcp',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, ...message }),
  });
}

/** Elements of the charts whose right edge lies beyond the viewport (what would make the page scroll sideways). */
function overflowingElements() {
  return page.evaluate(() =>
    [...document.querySelectorAll('[data-testid=traffic-charts] *')]
      .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 1)
      .filter((element) => !element.closest('.mantine-ScrollArea-root, .mantine-Table-scrollContainer'))
      .map((element) => `${element.tagName.toLowerCase()}.${[...element.classList].join('.')}`)
      .slice(0, 5),
  );
}

const toolCall = (tool) => ({ method: 'tools/call', params: { name: tool, arguments: {} } });
const text = (testId) => page.getByTestId(testId).first().textContent();

before(async () => {
  page = await harness.start({ viewport: desktop });
  services = harness.services;
});

after(() => harness.stop());

step('before any endpoint, the overview says so and links to endpoint creation', async () => {
  await harness.completeFirstRunSetup(admin);
  await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Overview' }).click();
  await page.waitForURL('**/overview');
  await page.getByText('No endpoints yet').waitFor();
  const create = page.getByRole('main').getByRole('link', { name: 'New endpoint' });
  assert.equal(await create.getAttribute('href'), '/endpoints/new');
  await screenshot('overview-empty-1440');
});

step('real traffic through the data plane: MCP tool calls, a denial and a 429', async () => {
  const internal = await api('POST', '/api/endpoints', {
    url: internalEndpointUrl,
    type: 'internal',
    upstream_url: services.upstream.url,
  });
  assert.equal(internal.status, 201, JSON.stringify(internal.body));
  const cloud = await api('POST', '/api/endpoints', { url: cloudEndpointUrl, traffic_policy: overviewPolicy });
  assert.equal(cloud.status, 201, JSON.stringify(cloud.body));
  cloudEndpointId = cloud.body.id;
  await waitForDataplaneToApplyLatestConfig();

  const statuses = [];
  const send = async (request) => statuses.push((await sendThroughDataplane(request)).status);
  await send({ headers: { authorization: 'Bearer alice' }, message: toolCall('search_docs') });
  await send({ headers: { authorization: 'Bearer alice' }, message: toolCall('search_docs') });
  await send({ headers: { authorization: 'Bearer alice' }, message: toolCall('create_ticket') });
  // Alice's fourth call in the minute: rate limited.
  await send({ headers: { authorization: 'Bearer alice' }, message: toolCall('create_ticket') });
  // A scanner, refused by name.
  await send({ headers: { 'x-scanner': 'yes', 'x-forwarded-for': scannerClientIp }, message: toolCall('search_docs') });
  await send({ headers: { authorization: 'Bearer bob' }, message: { method: 'tools/list' } });
  assert.deepEqual(statuses, [200, 200, 200, 429, 403, 200]);

  // Logged asynchronously (data plane → queue → worker → rollups): wait until the summary counts all six.
  const deadline = Date.now() + 20_000;
  let totals;
  while (Date.now() < deadline) {
    ({ totals } = (await api('GET', '/api/traffic/summary?range=1h')).body);
    if (totals.requests >= 6) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.deepEqual(
    { requests: totals.requests, denied: totals.denied, rate_limited: totals.rate_limited },
    { requests: 6, denied: 1, rate_limited: 1 },
  );
});

step('the overview shows the traffic, the denying rule, the denied client and the tools', async () => {
  // The endpoints were created outside this page's cache (through the API): load the page anew.
  await page.reload();
  await page.getByTestId('traffic-total-requests').waitFor();
  assert.equal(await text('traffic-total-requests'), '6');
  assert.equal(await text('traffic-total-denied'), '1');
  assert.equal(await text('traffic-total-429'), '1');
  assert.equal(await text('traffic-total-5xx'), '0');
  assert.match(await text('traffic-p50'), /\d+(\.\d)? (ms|s)$/);
  assert.match(await page.getByTestId('top-denied-rules').textContent(), /Block scanners \(on_http_request rule 1\)1/);
  assert.match(await page.getByTestId('top-denied-clients').textContent(), new RegExp(`${scannerClientIp}1`));
  const tools = await page.getByTestId('top-mcp-tools').locator('tbody tr').allTextContents();
  assert.deepEqual(tools, ['search_docs3', 'create_ticket2']);
  // Four charts are drawn (recharts renders an SVG surface per chart).
  for (const chart of ['chart-requests', 'chart-outcomes', 'chart-latency', 'chart-denials-by-rule']) {
    assert.ok(await page.getByTestId(chart).locator('svg.recharts-surface').count(), `${chart} has no chart`);
  }
  await screenshot('overview-24h-1440');
  await page.getByTestId('traffic-range').getByText('1 hour').click();
  await page.waitForURL('**/overview?range=1h');
  await page.getByText('Last 1 hour').waitFor();
  assert.equal(await text('traffic-total-requests'), '6');
  await screenshot('overview-1h-1440');
  // A denied client links to its requests in the log.
  assert.equal(
    await page.getByTestId('top-denied-clients').getByRole('link', { name: scannerClientIp }).getAttribute('href'),
    `/request-logs?client_ip=${scannerClientIp}`,
  );
});

step('signing in lands on the overview', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/sign-in**');
  // Without a `next` page to return to (signing out from a page remembers it), as after opening the dashboard.
  await page.goto(`${services.dashboardUrl}/sign-in`);
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel(/^Password/).fill(admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/overview');
  await page.getByTestId('traffic-total-requests').waitFor();
});

step("the endpoint's Traffic tab shows the same charts for that endpoint", async () => {
  await page.goto(`${services.dashboardUrl}/endpoints/${cloudEndpointId}/policy`);
  await page.getByRole('tab', { name: 'Traffic' }).click();
  await page.waitForURL(`**/endpoints/${cloudEndpointId}/traffic`);
  await page.getByTestId('traffic-total-requests').waitFor();
  assert.equal(await text('traffic-total-requests'), '6');
  assert.equal(await text('traffic-total-denied'), '1');
  assert.match(await page.getByTestId('top-denied-clients').textContent(), new RegExp(scannerClientIp));
  await screenshot('overview-endpoint-traffic-1440');
});

step('the endpoint list shows requests and denials of the last 24 h per endpoint', async () => {
  await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Endpoints' }).click();
  const row = page.getByTestId('endpoints-table').locator('tbody tr', { hasText: cloudEndpointUrl });
  await row.getByTestId('endpoint-requests-24h').waitFor();
  assert.equal(await row.getByTestId('endpoint-requests-24h').textContent(), '6');
  assert.equal(await row.getByTestId('endpoint-denied-24h').textContent(), '1');
  const internalRow = page.getByTestId('endpoints-table').locator('tbody tr', { hasText: internalEndpointUrl });
  assert.equal(await internalRow.getByTestId('endpoint-requests-24h').textContent(), '0');
  await screenshot('overview-endpoint-list-1440');
});

step('at 390 px the charts stack and stay readable', async () => {
  await page.setViewportSize(phone);
  await page.goto(`${services.dashboardUrl}/overview`);
  await page.getByTestId('traffic-total-requests').waitFor();
  await screenshot('overview-24h-390');
  // Nothing of the charts is wider than the screen (the page header is the 390 px pass's, elsewhere).
  assert.deepEqual(await overflowingElements(), []);
  await page.goto(`${services.dashboardUrl}/endpoints/${cloudEndpointId}/traffic?range=1h`);
  await page.getByTestId('traffic-total-requests').waitFor();
  await screenshot('overview-endpoint-traffic-390');
  assert.deepEqual(await overflowingElements(), []);
});

step('in dark mode the charts use the dark palette', async () => {
  await page.setViewportSize(desktop);
  // The key Mantine's default color-scheme manager keeps the chosen scheme under.
  await page.evaluate(() => window.localStorage.setItem('mantine-color-scheme-value', 'dark'));
  await page.goto(`${services.dashboardUrl}/overview`);
  await page.getByTestId('traffic-total-requests').waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.dataset.mantineColorScheme), 'dark');
  // axe checks the whole page in dark mode, chrome and dimmed text included (theme.ts keeps them at WCAG AA).
  await screenshot('overview-24h-dark-1440');
  await page.setViewportSize(phone);
  await page.reload();
  await page.getByTestId('traffic-total-requests').waitFor();
  await screenshot('overview-24h-dark-390');
  await page.evaluate(() => window.localStorage.removeItem('mantine-color-scheme-value'));
});

harness.finalChecks();
