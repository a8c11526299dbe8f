// Issue 19's defects and request-log rough edges, in Debian Chromium against the real control plane, its request-log
// worker and a data plane (services.mjs): version diffs stay right after saving v3/v4 and after a restore, the restore
// dialog shows the diff and warns when protection is dropped, "New IP category" never replaces an existing one, turning
// live tail off keeps the rows that arrived, and the request log's list, filters and drawer say what decided and why.
// Screenshots go to output/screenshots with a `fixes-` prefix; every screen shot is also checked with axe-core.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createBrowserHarness } from './browser-harness.mjs';

const admin = { email: 'admin@example.com', password: 'correct horse battery staple' };
const versionsEndpointUrl = 'https://versions.example.com';
const logsEndpointUrl = 'https://logs.example.com';
const anthropicClientIp = '160.79.104.10'; // in com.anthropic.api
const elsewhereClientIp = '203.0.113.7'; // in com.example.office once the IP category step created it
const wide = { width: 1440, height: 900 };
const narrow = { width: 390, height: 844 };

/** A cloud policy that answers every request with `marker` in its body: each version's text differs on that line. */
function answeringPolicy(marker, extraRules = '') {
  return `on_http_request:
${extraRules}  - name: Answer
    actions:
      - type: custom-response
        config:
          status_code: 200
          headers:
            content-type: text/plain
          body: ${marker}
`;
}
const basicAuthRule = `  - name: Staff only
    actions:
      - type: basic-auth
        config:
          credentials:
            - "staff:correct horse battery"
`;

/** The request log scenario's policy: outsiders are denied by rule 1, a second call per minute is rate limited. */
const logsPolicy = `on_http_request:
  - name: Only Anthropic
    expressions:
      - "!('com.anthropic.api' in conn.client_ip.categories)"
    actions:
      - type: deny
        config:
          status_code: 403
  - name: One per minute
    actions:
      - type: rate-limit
        config:
          name: per-client
          algorithm: sliding_window
          capacity: 1
          rate: 60s
          bucket_key:
            - conn.client_ip
  - name: Answer
    actions:
      - type: custom-response
        config:
          status_code: 200
          headers:
            content-type: application/json
          body: '{"jsonrpc":"2.0","id":1,"result":{"content":[]}}'
`;

const harness = createBrowserHarness({
  name: 'fixes',
  // "New IP category" with a taken name, refused on purpose.
  expectedFailedResponses: [/^409 POST \/api\/ip-categories$/],
});
const {
  step,
  screenshot,
  replaceEditorText,
  sendThroughDataplane,
  waitForDataplaneToApplyLatestConfig,
  navigationLink,
} = harness;
let services;
let page;
let versionsEndpointPath;

/** The same screen at phone width (and back): a screenshot and an axe check of each. */
async function screenshotNarrowToo(name) {
  await page.setViewportSize(narrow);
  await screenshot(`${name}-390`);
  await page.setViewportSize(wide);
}

/** The API, called from the signed-in page for set-up that is not under test: it must succeed. */
async function api(method, path, body) {
  const answer = await harness.api(method, path, body);
  assert.ok(answer.status < 300, `${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

async function savePolicyVersion(text, message, expectedVersion) {
  await page.getByRole('tab', { name: 'Policy' }).click();
  await page.locator('.monaco-editor .view-lines').first().waitFor();
  await replaceEditorText(text);
  await page.locator('[data-testid=policy-problems][data-state=valid]').waitFor();
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByLabel('What changed?').fill(message);
  await page.getByRole('button', { name: 'Save version' }).click();
  await page.getByText(`Saved as version ${expectedVersion}`).waitFor();
}

/**
 * What the versions page's comparison shows: the text of each side and how many changed lines Monaco marks. Monaco
 * renders only what is on screen; the policies here are short enough to be whole.
 */
async function diffState(container = page.getByTestId('policy-diff')) {
  await container.locator('.monaco-diff-editor').waitFor();
  // The diff is computed in a worker: give it the moment it needs, then read.
  await page.waitForTimeout(400);
  return container.evaluate((element) => {
    const textOf = (side) =>
      [...element.querySelectorAll(`.editor.${side} .view-line`)]
        .map((line) => line.textContent.replace(/\u00a0/g, ' '))
        .join('\n');
    return {
      original: textOf('original'),
      modified: textOf('modified'),
      changes: element.querySelectorAll('.line-insert, .line-delete, .char-insert, .char-delete').length,
    };
  });
}

/** Waits until the comparison shows `oldMarker` on the left and `newMarker` on the right, with changes marked. */
async function expectDiff(oldMarker, newMarker, container) {
  let state;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    state = await diffState(container);
    if (state.original.includes(oldMarker) && state.modified.includes(newMarker) && state.changes > 0) return state;
  }
  assert.fail(
    `expected ${oldMarker} → ${newMarker} with changes marked; the diff showed ${JSON.stringify(state, null, 1)}`,
  );
}

/** One request through the data plane's traffic port for `endpointUrl` (node:http: fetch drops Host). */
before(async () => {
  page = await harness.start({ viewport: wide });
  services = harness.services;
});

after(() => harness.stop());

step('set-up: the first admin signs in', async () => {
  await harness.completeFirstRunSetup(admin);
});

step('defect 1: the comparison follows each new version (v2, v3, v4) without a reload', async () => {
  const endpoint = await api('POST', '/api/endpoints', {
    url: versionsEndpointUrl,
    type: 'cloud',
    traffic_policy: answeringPolicy('marker-version-one'),
  });
  versionsEndpointPath = `/endpoints/${endpoint.id}`;
  await page.goto(`${services.dashboardUrl}${versionsEndpointPath}/policy`);
  await savePolicyVersion(answeringPolicy('marker-version-two'), 'Second', 2);
  // The versions page is visited once, so its list is cached when the next versions are saved (as a user would).
  await page.getByRole('tab', { name: 'Versions' }).click();
  await expectDiff('marker-version-one', 'marker-version-two');

  await savePolicyVersion(answeringPolicy('marker-version-three'), 'Third', 3);
  await page.getByRole('tab', { name: 'Versions' }).click();
  await page.locator('[data-testid=versions-table] tr[data-version="3"]').getByText('active').waitFor();
  const third = await expectDiff('marker-version-two', 'marker-version-three');
  assert.ok(!third.original.includes('marker-version-three'), 'the old side is v2, untouched by v3');

  await savePolicyVersion(answeringPolicy('marker-version-four', basicAuthRule), 'Fourth: staff only', 4);
  await page.getByRole('tab', { name: 'Versions' }).click();
  await page.locator('[data-testid=versions-table] tr[data-version="4"]').getByText('active').waitFor();
  await expectDiff('marker-version-three', 'marker-version-four');
  await screenshot('fixes-versions-diff-after-save');
});

step('the restore dialog compares with the active version and warns that authentication goes', async () => {
  await page.getByRole('button', { name: 'Restore version 1' }).click();
  const dialog = page.getByRole('dialog');
  const warning = dialog.getByTestId('restore-drops-protection');
  await warning.waitFor();
  assert.match(await warning.textContent(), /basic auth \(basic-auth\)/);
  await expectDiff('marker-version-four', 'marker-version-one', dialog);
  await screenshot('fixes-restore-warning');
  await screenshotNarrowToo('fixes-restore-warning');
  await dialog.getByRole('button', { name: 'Restore without these protections' }).click();
  await page.getByText('Restored version 1').waitFor();
  await dialog.waitFor({ state: 'detached' });
});

step('defect 1: after a restore the comparison shows the new pair (v4 → v5)', async () => {
  await page.locator('[data-testid=versions-table] tr[data-version="5"]').getByText('restored from v1').waitFor();
  const restored = await expectDiff('marker-version-four', 'marker-version-one');
  assert.ok(restored.original.includes('basic-auth'), 'the old side is v4 with its basic-auth rule');
  await screenshot('fixes-versions-diff-after-restore');
});

step('a restore that keeps every protection has no warning', async () => {
  await page.getByRole('button', { name: 'Restore version 2' }).click();
  const dialog = page.getByRole('dialog');
  await expectDiff('marker-version-one', 'marker-version-two', dialog);
  assert.equal(await dialog.getByTestId('restore-drops-protection').count(), 0);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
});

step('defect 2: "New IP category" with a taken name is refused on the name field; nothing is replaced', async () => {
  await navigationLink('IP categories').click();
  const table = page.getByTestId('ip-categories-table');
  await table.getByText('com.anthropic.api').waitFor();
  await page.getByRole('button', { name: 'New IP category' }).first().click();
  await page.getByLabel('Name').fill('com.example.office');
  await page.getByLabel('Description').fill('Head office');
  await page.getByLabel('Addresses').fill('203.0.113.0/24\n2001:db8::/32');
  await page.getByRole('button', { name: 'Save category' }).click();
  await table.getByText('com.example.office').waitFor();

  await page.getByRole('button', { name: 'New IP category' }).first().click();
  await page.getByLabel('Name').fill('com.example.office');
  await page.getByLabel('Addresses').fill('198.51.100.0/24');
  await page.getByRole('button', { name: 'Save category' }).click();
  await page
    .getByText('An IP category named com.example.office already exists; edit it, or choose another name')
    .waitFor();
  assert.equal(await page.getByLabel('Name').getAttribute('aria-invalid'), 'true');
  await screenshot('fixes-ip-category-exists');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('dialog').waitFor({ state: 'detached' });

  const kept = await api('GET', '/api/ip-categories/com.example.office');
  assert.deepEqual(kept.cidrs, ['203.0.113.0/24', '2001:db8::/32']);
  assert.equal(kept.description, 'Head office');
  const audit = await api('GET', '/api/audit-events?entity_id=com.example.office');
  assert.deepEqual(
    audit.audit_events.map((event) => event.kind),
    ['ip_category.created'],
  );
});

step('IP categories: a bad address is named by its line, in words', async () => {
  await page.getByRole('button', { name: 'New IP category' }).first().click();
  await page.getByLabel('Name').fill('com.example.lab');
  await page.getByLabel('Addresses').fill('10.0.0.0/8\n\n10.0.0.0/33\n192.168.1.300');
  await page.getByRole('button', { name: 'Save category' }).click();
  await page.getByText('Line 3: "10.0.0.0/33" is not an IPv4 or IPv6 address or CIDR', { exact: false }).waitFor();
  await page.getByText('Line 4: "192.168.1.300" is not an IPv4 or IPv6 address or CIDR', { exact: false }).waitFor();
  assert.equal(await page.getByText(/cidrs\.\d/).count(), 0, 'no raw API paths');
  await screenshot('fixes-ip-category-cidr-lines');
  await screenshotNarrowToo('fixes-ip-category-cidr-lines');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('dialog').waitFor({ state: 'detached' });
});

const logsTable = () => page.getByTestId('request-logs-table');
const rowOf = (path) => logsTable().locator('tbody tr', { hasText: `logs.example.com${path}` });
const toolsCall = (tool) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool } });

step('defect 3: turning live tail off keeps the requests that just arrived', async () => {
  await api('POST', '/api/endpoints', {
    url: logsEndpointUrl,
    type: 'cloud',
    traffic_policy: logsPolicy,
    request_log_capture: { headers: true, bodies: true },
  });
  await waitForDataplaneToApplyLatestConfig();
  await navigationLink('Request log').click();
  await page.getByText('No requests yet').waitFor();
  await page.getByRole('switch', { name: /Live tail/ }).check();
  await page.getByText('Live tail (connected)').waitFor();
  // The empty state while the tail is on says so, instead of asking to turn it on.
  await page.getByText('Waiting for requests').waitFor();
  assert.equal(await page.getByText(/Turn on live tail/).count(), 0);

  const outsider = await sendThroughDataplane(logsEndpointUrl, {
    path: '/mcp/outsider',
    headers: { 'x-forwarded-for': elsewhereClientIp },
    body: toolsCall('search'),
  });
  assert.equal(outsider.status, 403, outsider.body);
  const first = await sendThroughDataplane(logsEndpointUrl, {
    path: '/mcp/first',
    headers: { 'x-forwarded-for': anthropicClientIp },
    body: toolsCall('search'),
  });
  assert.equal(first.status, 200, first.body);
  const second = await sendThroughDataplane(logsEndpointUrl, {
    path: '/mcp/second',
    headers: { 'x-forwarded-for': anthropicClientIp },
    body: toolsCall('search'),
  });
  assert.equal(second.status, 429, second.body);
  for (const path of ['/mcp/outsider', '/mcp/first', '/mcp/second']) await rowOf(path).waitFor({ timeout: 10_000 });

  await page.getByRole('switch', { name: /Live tail/ }).uncheck();
  // For two seconds after switching off (the list is fetched again meanwhile): all three stay, never "No requests yet".
  const until = Date.now() + 2_000;
  while (Date.now() < until) {
    assert.equal(await page.getByText('No requests yet').count(), 0, 'the empty state showed while rows exist');
    assert.equal(await logsTable().locator('tbody tr').count(), 3);
    await page.waitForTimeout(100);
  }
  await screenshot('fixes-request-log');
});

step('the Refresh button fetches what arrived while live tail was off', async () => {
  const third = await sendThroughDataplane(logsEndpointUrl, {
    path: '/mcp/while-off',
    headers: { 'x-forwarded-for': elsewhereClientIp },
    body: toolsCall('fetch'),
  });
  assert.equal(third.status, 403, third.body);
  // The worker stores it within a second; Refresh until it is listed.
  const deadline = Date.now() + 10_000;
  while ((await rowOf('/mcp/while-off').count()) === 0) {
    assert.ok(Date.now() < deadline, 'the request never showed after Refresh');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.waitForTimeout(300);
  }
});

step('rows name the deciding rule, the MCP method and a rate limit', async () => {
  assert.match(await rowOf('/mcp/outsider').textContent(), /deny · Only Anthropic \(rule 1\)/);
  assert.match(await rowOf('/mcp/second').textContent(), /429 rate limited/);
  assert.match(await rowOf('/mcp/second').textContent(), /rate-limit · One per minute \(rule 2\)/);
  assert.match(await rowOf('/mcp/first').textContent(), /tools\/call · search/);
});

step('filters: "tools/call" is found, partial IPs and CIDRs work, a bad client filter says why', async () => {
  await page.getByLabel(/Path, host or MCP method/).fill('tools/call');
  await page.waitForURL(/q=tools%2Fcall/);
  for (const path of ['/mcp/outsider', '/mcp/first', '/mcp/second', '/mcp/while-off']) await rowOf(path).waitFor();
  assert.equal(await logsTable().locator('tbody tr').count(), 4);
  await page.getByLabel(/Path, host or MCP method/).fill('');

  // Issue 14: filtering by MCP tool (exact) keeps only the calls to that tool.
  await page.getByLabel('MCP tool').fill('fetch');
  await page.waitForURL(/tool=fetch/);
  await rowOf('/mcp/first').waitFor({ state: 'detached' });
  await rowOf('/mcp/while-off').waitFor();
  assert.equal(await logsTable().locator('tbody tr').count(), 1);
  await page.getByLabel('MCP tool').fill('');
  await rowOf('/mcp/first').waitFor();

  await page.getByLabel(/Client IP/).fill('160.79');
  // The filtered list replaces the table once fetched: wait for the rows it keeps, then count.
  await page.waitForURL(/client_ip=160\.79/);
  await rowOf('/mcp/outsider').waitFor({ state: 'detached' });
  await rowOf('/mcp/first').waitFor();
  await rowOf('/mcp/second').waitFor();
  assert.equal(await logsTable().locator('tbody tr').count(), 2);
  await page.getByLabel(/Client IP/).fill('203.0.113.0/24');
  await rowOf('/mcp/first').waitFor({ state: 'detached' });
  await rowOf('/mcp/outsider').waitFor();
  await rowOf('/mcp/while-off').waitFor();
  assert.equal(await logsTable().locator('tbody tr').count(), 2);

  await page.getByLabel(/Client IP/).fill('office');
  await page.getByText('An address (160.79.104.10), a CIDR (160.79.104.0/21) or leading octets (160.79)').waitFor();
  await screenshot('fixes-request-log-filter-error');
  await screenshotNarrowToo('fixes-request-log-filter-error');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.waitForURL((url) => url.search === '');
  for (const path of ['/mcp/outsider', '/mcp/first', '/mcp/second', '/mcp/while-off']) await rowOf(path).waitFor();
  assert.equal(await logsTable().locator('tbody tr').count(), 4);
});

step("the drawer shows the rule's expression and why the client is outside the category", async () => {
  await rowOf('/mcp/outsider')
    .getByRole('button', { name: /^Details of POST \/mcp\/outsider/ })
    .click();
  const details = page.getByTestId('request-log-details');
  await details
    .getByTestId('request-log-rule-expression')
    .getByText("!('com.anthropic.api' in conn.client_ip.categories)")
    .waitFor();
  assert.equal(
    (await details.getByTestId('request-log-category-finding').textContent()).trim(),
    // The office category created above holds 203.0.113.0/24: the drawer says which categories the client is in.
    '203.0.113.7 is not in the IP category com.anthropic.api (its categories: com.example.office).',
  );
  await screenshot('fixes-request-log-drawer-category');
  await page.keyboard.press('Escape');
  await details.waitFor({ state: 'detached' });
});

step('the drawer labels a 429 as a rate limit, and offers curl and a readable body', async () => {
  await rowOf('/mcp/second')
    .getByRole('button', { name: /^Details of POST \/mcp\/second/ })
    .click();
  const details = page.getByTestId('request-log-details');
  const outcome = details.getByTestId('request-log-outcome');
  await outcome.getByText('Rate limited').waitFor();
  assert.doesNotMatch(await outcome.textContent(), /Gateway error/);
  await details.getByText('429 rate limited').waitFor();
  // The captured request body is JSON: pretty-printed.
  const body = details.locator('[data-format=json]').first();
  await body.waitFor();
  assert.match(await body.textContent(), /^\{\n {2}"jsonrpc": "2\.0",/);
  const curl = await details.getByTestId('request-log-curl').textContent();
  assert.match(curl, /^curl \\\n {2}-X POST \\\n {2}'https:\/\/logs\.example\.com\/mcp\/second'/);
  assert.match(curl, /--data-raw '\{"jsonrpc":"2\.0","id":1,"method":"tools\/call"/);
  await details.getByRole('button', { name: 'Copy as curl' }).waitFor();
  await screenshot('fixes-request-log-drawer-rate-limited');
  await screenshotNarrowToo('fixes-request-log-drawer-rate-limited');
  await page.keyboard.press('Escape');
  await details.waitFor({ state: 'detached' });
  await screenshotNarrowToo('fixes-request-log');
});

harness.finalChecks();
