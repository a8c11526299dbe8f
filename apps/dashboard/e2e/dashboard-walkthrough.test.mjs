// The dashboard walkthrough (DESIGN.md §1 steps 1–3 and 5, issue 6) in Debian Chromium against the real control
// plane, its request-log worker and a data plane: first-run setup, sign in, create an internal and a cloud endpoint,
// see an invalid policy marked on the right line, fix and save it as version 2, send real requests through the data
// plane and find them in the request log with the rule that decided them, compare versions, restore version 1, delete
// an endpoint, and check that a viewer sees no edit controls. Every step is a named subtest; a failing step fails the
// run (nothing is skipped).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createBrowserHarness } from './browser-harness.mjs';
import { dataplaneId } from './services.mjs';
import {
  invalidExpressionLine,
  walkthroughPolicy,
  walkthroughPolicyWithInvalidExpression,
} from './walkthrough-policies.mjs';

const admin = { email: 'admin@example.com', password: 'correct horse battery staple' };
const viewer = { email: 'viewer@example.com', password: 'viewer password 123' };
const internalEndpointUrl = 'https://mcp.example.internal';
const cloudEndpointUrl = 'https://mcp.example.com';
/** Client addresses of the walkthrough's requests (X-Forwarded-For: the data plane trusts 127.0.0.1 as a proxy). */
const anthropicClientIp = '160.79.104.10'; // in com.anthropic.api
const elsewhereClientIp = '203.0.113.7'; // in no category

const harness = createBrowserHarness({
  name: 'walkthrough',
  // Fonts, analytics or anything else from outside would break an offline install: none may be requested.
  onlyLocalRequests: true,
  expectedFailedResponses: [
    /^401 POST \/api\/auth\/login$/, // the deliberately wrong password
    /^400 POST \/api\/endpoints\/[^/]+\/policy-versions$/, // the simulated refusal of a policy on save
  ],
});
const { step, screenshot, replaceEditorText, waitForDataplaneToApplyLatestConfig, navigationLink } = harness;
let services;
let page;
let cloudEndpointPath;

/** One MCP tools/list through the data plane to the cloud endpoint. */
function sendThroughDataplane({ path, headers }) {
  return harness.sendThroughDataplane(cloudEndpointUrl, {
    path,
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
}

/**
 * Line number of every error squiggle Monaco draws in the policy editor: the line number shown in the margin at the
 * squiggle's height (per-rule code lenses are view zones between lines, so a top divided by the line height is off).
 */
async function linesWithErrorSquiggles() {
  return page.evaluate(() => {
    const editor = document.querySelector('[data-testid=policy-editor] .monaco-editor');
    const numbers = new Map(
      [...editor.querySelectorAll('.margin-view-overlays > div')].map((margin) => [
        margin.style.top,
        Number(margin.querySelector('.line-numbers')?.textContent),
      ]),
    );
    return [...editor.querySelectorAll('.view-overlays .squiggly-error')].map(
      (squiggle) => numbers.get(squiggle.closest('.view-overlays > div').style.top) ?? -1,
    );
  });
}

async function signIn(credentials) {
  await page.getByLabel('Email').fill(credentials.email);
  await page.getByLabel(/^Password/).fill(credentials.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-as').waitFor();
}

async function createEndpoint({ type, url, upstreamUrl }) {
  await navigationLink('Endpoints').click();
  await page.getByRole('link', { name: 'New endpoint' }).first().click();
  await page.getByRole('radio', { name: type === 'cloud' ? 'Cloud' : 'Internal' }).check();
  await page.getByLabel(/^URL/).fill(url);
  if (upstreamUrl) await page.getByLabel(/^Upstream URL/).fill(upstreamUrl);
  await page.getByRole('button', { name: 'Create endpoint' }).click();
  await page.getByTestId('endpoint-url').filter({ hasText: url }).waitFor();
  await page.locator('[data-testid=policy-editor] .monaco-editor .view-lines').waitFor();
}

before(async () => {
  page = await harness.start();
  services = harness.services;
});

after(() => harness.stop());

step('first-run setup creates the admin and opens the empty endpoint list', async () => {
  const document = await page.goto(services.dashboardUrl);
  // The production CSP (the same one the API sends) is in force for the whole walkthrough: any script, style, worker
  // or font it refuses shows up as a console error and fails the run.
  const csp = document?.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  await page.waitForURL('**/setup');
  await screenshot('01-first-run-setup');
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel(/^Password/).fill(admin.password);
  await page.getByLabel(/^Repeat the password/).fill(admin.password);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await page.waitForURL('**/endpoints');
  await page.getByText('No endpoints yet').waitFor();
  assert.equal(await page.getByTestId('signed-in-role').textContent(), 'admin');
});

step('signing out and back in returns to the dashboard', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/sign-in**');
  await page.getByLabel('Email').fill(admin.email);
  await page.getByLabel(/^Password/).fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  await screenshot('02-sign-in-rejected');
  await signIn(admin);
  // Signing in lands on the overview (issue 19); the steps below start from the endpoint list.
  await page.waitForURL('**/overview');
  await navigationLink('Endpoints').click();
  await page.waitForURL('**/endpoints');
});

step('the new-endpoint form applies the URL rules before asking the API', async () => {
  await page.getByRole('link', { name: 'New endpoint' }).first().click();
  await page.getByRole('radio', { name: 'Internal' }).check();
  await page.getByLabel(/^URL/).fill('https://mcp.example.com');
  await page.keyboard.press('Tab');
  await page.getByText('Internal endpoint hosts must end in .internal').waitFor();
  await page.getByLabel(/^URL/).fill('ftp://mcp.example.internal');
  await page.getByText('The scheme must be http or https, not ftp').waitFor();
  await screenshot('03-new-endpoint-validation');
});

step('creates the internal endpoint for the MCP server', async () => {
  await createEndpoint({ type: 'internal', url: internalEndpointUrl, upstreamUrl: services.upstream.url });
  assert.equal(await page.getByTestId('endpoint-policy-version').textContent(), 'No policy');
});

step("the internal endpoint's settings change its upstream", async () => {
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.getByLabel('Description').fill('The MCP server on the build VM');
  await page.getByLabel('Upstream URL').fill('http://127.0.0.1:3334');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Endpoint settings saved.').waitFor();
  await page.getByText('Forwards to').filter({ hasText: 'http://127.0.0.1:3334' }).waitFor();
  await page.getByLabel('Upstream URL').fill(services.upstream.url);
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Forwards to').filter({ hasText: services.upstream.url }).waitFor();
});

step('the request log has its filters and says when nothing came through yet', async () => {
  await navigationLink('Request log').click();
  await page.getByText('No requests yet').waitFor();
  await page.getByLabel('Status').fill('4xx');
  await page.getByText('No request matches').waitFor();
  await page.getByRole('switch', { name: /Live tail/ }).check();
  await page.getByText('Live tail (connected)').waitFor();
  await screenshot('12-request-log');
  await page.getByRole('switch', { name: /Live tail/ }).uncheck();
  await page.getByLabel('Status').fill('');
});

step('creates the cloud endpoint, which starts with a terminating policy as version 1', async () => {
  await createEndpoint({ type: 'cloud', url: cloudEndpointUrl });
  cloudEndpointPath = new URL(page.url()).pathname.replace(/\/policy$/, '');
  assert.equal(await page.getByTestId('endpoint-policy-version').textContent(), 'Policy version 1');
  await page
    .locator('[data-testid=policy-editor] .monaco-editor')
    .getByText('This is your new Gatehouse endpoint', { exact: false })
    .waitFor();
  await page.locator('[data-testid=policy-problems][data-state=valid]').waitFor();
});

step('an invalid expression is marked on its line before saving', async () => {
  await replaceEditorText(walkthroughPolicyWithInvalidExpression);
  const problem = page.locator(`[data-testid=policy-problems] [data-line="${invalidExpressionLine}"]`);
  await problem.waitFor();
  assert.equal(await problem.getAttribute('data-code'), 'POLICY_EXPRESSION_INVALID');
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid=policy-editor] .monaco-editor .squiggly-error').length > 0,
  );
  assert.deepEqual([...new Set(await linesWithErrorSquiggles())], [invalidExpressionLine]);
  assert.equal(await page.getByRole('button', { name: 'Save policy' }).isDisabled(), true);
  await screenshot('04-policy-editor-invalid');
});

step('the schema offers completion inside the policy', async () => {
  // Put the cursor after "type: " of the first action and ask for suggestions: the action types come from the schema.
  await page.locator('[data-testid=policy-editor] .monaco-editor .view-lines').click();
  await page.keyboard.press('ControlOrMeta+Home');
  for (let line = 1; line < 6; line += 1) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('End');
  for (let index = 0; index < 'deny'.length; index += 1) await page.keyboard.press('Backspace');
  await page.keyboard.press('Control+Space');
  const suggestions = page.locator('[data-testid=policy-editor] .monaco-editor .suggest-widget .monaco-list-row');
  await suggestions.first().waitFor();
  const labels = await suggestions.allTextContents();
  assert.ok(
    ['custom-response', 'deny'].every((action) => labels.some((label) => label.includes(action))),
    `suggestions were: ${labels.join(', ')}`,
  );
  await page.keyboard.press('Escape');
  // Hovering a field shows its documentation from the same schema.
  await page
    .locator('[data-testid=policy-editor] .monaco-editor .view-line')
    .filter({ hasText: 'on_http_request:' })
    .locator('span', { hasText: 'on_http_request' })
    .last()
    .hover();
  await page.locator('.monaco-hover').filter({ hasText: 'Rules run on each request' }).waitFor();
});

step('the fixed policy saves as version 2', async () => {
  await replaceEditorText(walkthroughPolicy);
  await page.locator('[data-testid=policy-problems][data-state=valid]').waitFor();
  await page.getByTestId('unsaved-badge').waitFor();
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByLabel('What changed?').fill('Walkthrough policy: IP category, Authorization, rate limit, forward');
  await page.getByRole('button', { name: 'Save version' }).click();
  await page.getByText('Saved as version 2').waitFor();
  await page.getByTestId('endpoint-policy-version').filter({ hasText: 'Policy version 2' }).waitFor();
  await screenshot('05-policy-editor-saved');
});

step(
  'real requests through the data plane show in the request log, with the rule and action that decided',
  async (context) => {
    await waitForDataplaneToApplyLatestConfig();
    await navigationLink('Request log').click();
    await page.getByText('No requests yet').waitFor();
    await page.getByRole('switch', { name: /Live tail/ }).check();
    await page.getByText('Live tail (connected)').waitFor();

    // DESIGN.md §1 step 4, as version 2 decides: no Authorization → 401 by rule 2; from outside Anthropic → 403 by
    // rule 1; a token from Anthropic's range → forwarded to the MCP server's upstream.
    const unauthorized = await sendThroughDataplane({
      path: '/mcp/without-token',
      headers: { 'x-forwarded-for': anthropicClientIp },
    });
    assert.equal(unauthorized.status, 401, unauthorized.body);
    assert.match(unauthorized.body, /Authorization required/);
    const elsewhere = await sendThroughDataplane({
      path: '/mcp/from-elsewhere',
      headers: { 'x-forwarded-for': elsewhereClientIp, authorization: 'Bearer walkthrough-token' },
    });
    assert.equal(elsewhere.status, 403, elsewhere.body);
    const sentAt = Date.now();
    const upstreamRequestsBefore = services.upstream.received.length;
    const forwarded = await sendThroughDataplane({
      path: '/mcp/with-token',
      headers: { 'x-forwarded-for': anthropicClientIp, authorization: 'Bearer walkthrough-token' },
    });
    assert.equal(forwarded.status, 200, forwarded.body);
    assert.deepEqual(
      services.upstream.received.slice(upstreamRequestsBefore).map((request) => request.url),
      ['/mcp/with-token'],
      'only the authorized request reaches the upstream',
    );

    // The live tail brings each one (DESIGN.md §1 step 5). Rows are found by their own paths, so anything else in the
    // log could not satisfy these checks.
    const table = page.getByTestId('request-logs-table');
    const rowOf = (path) => table.locator('tbody tr', { hasText: `mcp.example.com${path}` });
    const tailTimeout = { timeout: 10_000 };
    await rowOf('/mcp/without-token').getByText('deny · Require an Authorization header').waitFor(tailTimeout);
    await rowOf('/mcp/from-elsewhere').getByText("deny · Allow only Anthropic's API servers").waitFor(tailTimeout);
    await rowOf('/mcp/with-token').getByText('forward-internal · Forward to the MCP server').waitFor(tailTimeout);
    context.diagnostic(`the live tail showed all three within ${Date.now() - sentAt} ms of the last one being sent`);
    assert.match(await rowOf('/mcp/without-token').textContent(), /401/);
    assert.match(await rowOf('/mcp/from-elsewhere').textContent(), /403/);
    assert.match(await rowOf('/mcp/with-token').textContent(), /200/);

    // They are stored, not only streamed: a fresh visit lists them from the API.
    await page.getByRole('switch', { name: /Live tail/ }).uncheck();
    await navigationLink('Endpoints').click();
    await page.getByTestId('endpoints-table').waitFor();
    await navigationLink('Request log').click();
    await rowOf('/mcp/from-elsewhere').waitFor();
    await rowOf('/mcp/with-token').waitFor();

    // Who called: the forwarded request's caller is the rate-limit key's fingerprint (never the token); filtering by it
    // leaves only that caller's requests.
    const withTokenText = await rowOf('/mcp/with-token').textContent();
    const fingerprint = /sha256:[0-9a-f]{16}/.exec(withTokenText)?.[0];
    assert.ok(fingerprint, `the forwarded row names its caller: ${withTokenText}`);
    assert.doesNotMatch(withTokenText, /walkthrough-token/);
    await page.getByLabel('Caller').fill(fingerprint);
    await page.waitForURL(/caller=sha256/);
    await rowOf('/mcp/without-token').waitFor({ state: 'detached' });
    await rowOf('/mcp/with-token').waitFor();
    await page.getByLabel('Caller').fill('');
    await rowOf('/mcp/without-token').waitFor();

    const deniedRow = rowOf('/mcp/without-token');
    await deniedRow.getByRole('button', { name: /^Details of POST \/mcp\/without-token at/ }).click();
    const details = page.getByTestId('request-log-details');
    await details
      .getByTestId('request-log-decision')
      .filter({ hasText: 'Rule 2 “Require an Authorization header”' })
      .waitFor();
    // The trace: rule 1 did not match (the client is Anthropic's), rule 2 matched and its deny answered 401.
    const trace = details.getByTestId('request-log-trace');
    const firstRule = trace.locator('tr', { hasText: "Allow only Anthropic's API servers" });
    const decidingRule = trace.locator('tr', { hasText: 'Require an Authorization header' });
    await decidingRule.getByText('denied with 401', { exact: false }).waitFor();
    assert.equal((await decidingRule.locator('td').nth(1).textContent()).trim(), 'yes');
    assert.equal((await firstRule.locator('td').nth(1).textContent()).trim(), 'no');
    await details.getByText('com.anthropic.api').waitFor();
    await screenshot('12b-request-log-details');
    await details.getByRole('link', { name: 'version 2' }).click();
    await page.waitForURL(`**${cloudEndpointPath}/versions`);
    await page.locator('[data-testid=versions-table] tr[data-version="2"]').getByText('active').waitFor();
    // Back to the policy for the editing steps that follow.
    await page.getByRole('tab', { name: 'Policy' }).click();
    await page.getByTestId('endpoint-policy-version').filter({ hasText: 'Policy version 2' }).waitFor();
    await page
      .locator('[data-testid=policy-editor] .monaco-editor')
      .getByText('Require an Authorization header')
      .first()
      .waitFor();
  },
);

step('a recipe from the snippet menu lands in the policy, and leaving asks before dropping it', async () => {
  await page.getByRole('button', { name: 'Insert recipe' }).click();
  await page.getByRole('menuitem', { name: /JWT for MCP/ }).click();
  await page.locator('[data-testid=policy-editor] .monaco-editor').getByText('jwt-validation').first().waitFor();
  await page.locator('[data-testid=policy-problems][data-state=valid]').waitFor();
  // Leaving with unsaved changes asks first; staying keeps them.
  await page.getByRole('tab', { name: 'Versions' }).click();
  const guard = page.getByRole('dialog').filter({ hasText: 'Discard unsaved changes?' });
  await guard.waitFor();
  await guard.getByRole('button', { name: 'Cancel' }).click();
  await guard.waitFor({ state: 'detached' });
  assert.match(page.url(), /\/policy$/);
  await page.getByTestId('unsaved-badge').waitFor();
  await page.getByRole('button', { name: 'Discard changes' }).click();
  await page.locator('[data-testid=unsaved-badge]').waitFor({ state: 'detached' });
});

step("the API's refusal on save is marked on the line it names", async () => {
  // The browser runs the same engine as the API, so they agree; to see how a refusal looks (say, an API one version
  // ahead), its answer to this one save is replaced by a 400 naming line 4.
  const policyVersionsRoute = '**/api/endpoints/*/policy-versions';
  await page.route(policyVersionsRoute, async (route) => {
    if (route.request().method() !== 'POST') return route.fallback();
    await route.fulfill({
      status: 400,
      contentType: 'application/json',
      body: JSON.stringify({
        error_code: 'POLICY_INVALID',
        message: 'The Traffic Policy is invalid',
        details: [
          {
            code: 'POLICY_IP_CATEGORY_UNKNOWN',
            message: 'No IP category is named com.anthropic.api',
            path: '/on_http_request/0/expressions/0',
            line: 4,
            column: 10,
          },
        ],
      }),
    });
  });
  try {
    await replaceEditorText(`${walkthroughPolicy}# tightened later\n`);
    await page.locator('[data-testid=policy-problems][data-state=valid]').waitFor();
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('button', { name: 'Save version' }).click();
    await page.locator('[data-testid=policy-problems] [data-line="4"]').getByText('from server').waitFor();
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=policy-editor] .monaco-editor .squiggly-error').length > 0,
    );
    assert.deepEqual([...new Set(await linesWithErrorSquiggles())], [4]);
    await screenshot('05b-policy-editor-server-refusal');
  } finally {
    await page.unroute(policyVersionsRoute);
  }
  await page.getByRole('button', { name: 'Discard changes' }).click();
  await page.locator('[data-testid=policy-problems][data-state=valid]').waitFor();
  await page.getByTestId('endpoint-policy-version').filter({ hasText: 'Policy version 2' }).waitFor();
});

step('the version history lists both versions and compares them side by side', async () => {
  await page.getByRole('tab', { name: 'Versions' }).click();
  await page.locator('[data-testid=versions-table] tr[data-version="2"]').getByText('active').waitFor();
  await page.locator('[data-testid=versions-table] tr[data-version="1"]').waitFor();
  const diff = page.getByTestId('policy-diff');
  await diff.locator('.monaco-diff-editor').waitFor();
  await diff.getByText('Require an Authorization header').first().waitFor();
  await page.waitForFunction(
    () =>
      document.querySelectorAll('[data-testid=policy-diff] .line-insert, [data-testid=policy-diff] .char-insert')
        .length > 0,
  );
  await screenshot('06-versions-diff');
});

step('restoring version 1 appends version 3 with its text', async () => {
  await page.getByRole('button', { name: 'Restore version 1' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Restore' }).click();
  await page.getByText('Its text is now active as version 3').waitFor();
  const newest = page.locator('[data-testid=versions-table] tr[data-version="3"]');
  await newest.getByText('restored from v1').waitFor();
  await newest.getByText('active').waitFor();
  await page.getByRole('tab', { name: 'Policy' }).click();
  await page
    .locator('[data-testid=policy-editor] .monaco-editor')
    .getByText('This is your new Gatehouse endpoint', { exact: false })
    .waitFor();
});

step('the endpoint list shows both endpoints with their policy versions', async () => {
  await navigationLink('Endpoints').click();
  const table = page.getByTestId('endpoints-table');
  await table.getByText(cloudEndpointUrl).waitFor();
  await table.getByText(internalEndpointUrl).waitFor();
  // Read at once, without waiting: the restore wrote v3 into the cached list, so even the first render (before the
  // list's own refetch lands) must not show the superseded v2.
  const policyVersionCell = table.locator('tr', { hasText: cloudEndpointUrl }).getByRole('cell').nth(2);
  assert.equal(await policyVersionCell.textContent(), 'v3');
  await page.getByLabel('Search endpoints').fill('internal');
  await table.locator('tr', { hasText: cloudEndpointUrl }).waitFor({ state: 'detached' });
  await page.getByLabel('Search endpoints').fill('');
  await screenshot('07-endpoints-list');
});

step('with the keyboard alone: skip the navigation and create an endpoint', async () => {
  await page.goto(`${services.dashboardUrl}/endpoints`);
  await page.getByTestId('endpoints-table').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main-content');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'New endpoint');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/endpoints/new');
  // The URL field takes the focus; Enter in it submits the form.
  await page.waitForFunction(() => document.activeElement?.getAttribute('placeholder') === 'Public URL');
  await page.keyboard.type('https://scratch.example.com');
  await page.keyboard.press('Enter');
  await page.getByTestId('endpoint-url').filter({ hasText: 'https://scratch.example.com' }).waitFor();
});

step('deleting an endpoint asks first and removes it', async () => {
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.getByRole('button', { name: 'Delete endpoint' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Delete endpoint' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete endpoint' }).click();
  await page.waitForURL('**/endpoints');
  await page.getByTestId('endpoints-table').getByText(cloudEndpointUrl).waitFor();
  await page.getByText('Deleted https://scratch.example.com.').waitFor();
  assert.equal(await page.getByTestId('endpoints-table').getByText('https://scratch.example.com').count(), 0);
});

step('IP categories list the built-ins and take a custom category', async () => {
  await navigationLink('IP categories').click();
  const table = page.getByTestId('ip-categories-table');
  await table.getByText('com.anthropic.api').waitFor();
  await page.getByRole('button', { name: 'New IP category' }).click();
  await page.getByLabel('Name').fill('com.example.office');
  await page.getByLabel('Description').fill('Head office');
  await page.getByLabel('Addresses').fill('203.0.113.0/24\n2001:db8::/32');
  await page.getByRole('button', { name: 'Save category' }).click();
  await table.getByText('com.example.office').waitFor();
  await table.getByText('203.0.113.0/24').waitFor();
  await screenshot('08-ip-categories');
  assert.equal(
    await page.getByRole('button', { name: 'Delete com.anthropic.api' }).count(),
    0,
    'built-ins are read-only',
  );
  await page.getByRole('button', { name: 'Edit com.example.office' }).click();
  await page.getByLabel('Addresses').fill('198.51.100.7');
  await page.getByRole('button', { name: 'Save category' }).click();
  await table.getByText('198.51.100.7').waitFor();
  await page.getByRole('button', { name: 'Delete com.example.office' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete category' }).click();
  await table.getByText('com.example.office').waitFor({ state: 'detached' });
});

step('an API key shows its secret once, with a copy button', async () => {
  await navigationLink('API keys').click();
  await page.getByText('No API keys').waitFor();
  await page.getByRole('button', { name: 'New API key' }).first().click();
  await page.getByLabel('Description').fill('CI deploy job');
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = (await page.getByTestId('api-key-secret').textContent()).trim();
  assert.ok(secret.length >= 20, `secret was "${secret}"`);
  await page.getByRole('button', { name: 'Copy' }).waitFor();
  await screenshot('09-api-key-created');
  await page.getByRole('button', { name: 'I have stored it' }).click();
  const row = page.getByTestId('api-keys-table').locator('tr', { hasText: 'CI deploy job' });
  await row.waitFor();
  assert.ok(!(await row.textContent()).includes(secret), 'the list must never show the secret');
  // Outside the browser (no session cookie), so the key alone is what authenticates.
  const answer = await fetch(`${services.dashboardUrl}/api/endpoints`, {
    headers: { authorization: `Bearer ${secret}` },
  });
  assert.equal(answer.status, 200);
});

step(
  'an authtoken for gatehouse-agent shows its secret once, with the agent config, and is refused by the API',
  async () => {
    await navigationLink('Authtokens').click();
    await page.getByText('No authtokens').waitFor();
    await page.getByRole('button', { name: 'New authtoken' }).first().click();
    await page.getByLabel('Description').fill('laptop MCP server');
    const patterns = page.getByPlaceholder('Type a host pattern, then Enter');
    await patterns.fill('mcp.example.internal');
    await patterns.press('Enter');
    await page.getByRole('button', { name: 'Create authtoken' }).click();
    const secret = (await page.getByTestId('authtoken-secret').textContent()).trim();
    assert.match(secret, /^gat_[0-9a-f]{8}_/);
    assert.match(
      await page.getByTestId('authtoken-agent-config').textContent(),
      /url: https:\/\/mcp\.example\.internal/,
    );
    await screenshot('09b-authtoken-created');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    const row = page.getByTestId('authtokens-table').locator('tr', { hasText: 'laptop MCP server' });
    await row.getByText('mcp.example.internal').waitFor();
    assert.ok(!(await row.textContent()).includes(secret), 'the list must never show the secret');
    // Outside the browser (no session cookie), so the token alone is what is judged.
    const answer = await fetch(`${services.dashboardUrl}/api/endpoints`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(answer.status, 401, 'an authtoken is good for agent sessions only');
    assert.match((await answer.json()).message, /agent authtoken/);
  },
);

step('an admin adds a viewer on the Users page', async () => {
  await navigationLink('Users').click();
  await page.getByTestId('users-table').getByText(admin.email).waitFor();
  await page.getByRole('button', { name: 'Add user' }).first().click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel(/^Email/).fill(viewer.email);
  await dialog.getByLabel(/^Initial password/).fill(viewer.password);
  await dialog.getByRole('button', { name: 'Add user' }).click();
  await page.getByTestId('users-table').getByText(viewer.email).waitFor();
  await screenshot('10-users');
});

step('the fleet and the audit log have their pages', async () => {
  await navigationLink('Data planes').click();
  await page.getByTestId('dataplanes-table').getByText(dataplaneId).waitFor();
  // Its heartbeats carry the request-event pipeline's counters: this one queues its events in Redis for the worker.
  const requestEvents = page.getByTestId('dataplanes-table').getByTestId('dataplane-request-events').first();
  await requestEvents.waitFor();
  assert.match((await requestEvents.textContent()) ?? '', /^(delivering|[\d,]+ waiting)(\d[\d,]* batch(es)? queued)?$/);
  await navigationLink('Audit log').click();
  const timeline = page.getByTestId('audit-timeline');
  await timeline.getByText('policy.version_created').first().waitFor();
  await timeline.getByText('endpoint.created').first().waitFor();
  await screenshot('11-audit-log');
});

step('the endpoint list pages through many endpoints with Load more', async () => {
  const extraEndpoints = 55;
  for (let index = 0; index < extraEndpoints; index += 1) {
    const created = await page.request.post(`${services.dashboardUrl}/api/endpoints`, {
      data: {
        url: `https://bulk-${String(index).padStart(2, '0')}.example.com`,
        type: 'cloud',
        traffic_policy: walkthroughPolicy,
      },
    });
    assert.equal(created.status(), 201, await created.text());
  }
  // They were made outside this tab, so load the page afresh rather than trust the tab's 10-second cache.
  await page.goto(`${services.dashboardUrl}/endpoints`);
  const rows = page.getByTestId('endpoints-table').locator('tbody tr');
  await page.getByRole('button', { name: 'Load more' }).waitFor();
  assert.equal(await rows.count(), 50);
  await page.getByRole('button', { name: 'Load more' }).click();
  await page.getByRole('button', { name: 'Load more' }).waitFor({ state: 'detached' });
  assert.equal(await rows.count(), extraEndpoints + 2);
  // A full URL in the search box asks the API, which finds it on any page.
  await page.getByLabel('Search endpoints').fill(internalEndpointUrl);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=endpoints-table] tbody tr').length === 1);
  await page.getByLabel('Search endpoints').fill('');
});

step('a viewer sees endpoints and policies without any edit control', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/sign-in**');
  await signIn(viewer);
  assert.equal(await page.getByTestId('signed-in-role').textContent(), 'viewer');
  assert.equal(await page.getByRole('link', { name: 'New endpoint' }).count(), 0);
  await page.goto(`${services.dashboardUrl}${cloudEndpointPath}/policy`);
  await page.locator('[data-testid=policy-editor] .monaco-editor .view-lines').waitFor();
  await page.getByText('Read only').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Save policy' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Insert recipe' }).count(), 0);
  await page.getByRole('tab', { name: 'Versions' }).click();
  await page.locator('[data-testid=versions-table] tr[data-version="3"]').waitFor();
  assert.equal(await page.getByRole('button', { name: /^Restore version/ }).count(), 0);
  await page.getByRole('tab', { name: 'Settings' }).click();
  assert.equal(await page.getByRole('button', { name: 'Delete endpoint' }).count(), 0);
});

harness.finalChecks();
