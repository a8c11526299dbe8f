// Issue 19's polish in Debian Chromium against the real control plane and data plane (services.mjs): CEL completion
// inside expressions from the engine's catalog, "did you mean" for a misspelt function, dark mode from the OS and the
// header toggle (kept across reloads, Monaco included), keyboard shortcuts, and every page at 1280×860 and 390×844 with
// screenshots (output/screenshots/polish-<page>-{desktop,mobile}.png) and axe finding nothing serious or critical.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createBrowserHarness } from './browser-harness.mjs';

const admin = { email: 'admin@example.com', password: 'correct horse battery staple' };
const viewer = { email: 'viewer@example.com', password: 'viewer password 123' };
const internalEndpointUrl = 'https://tools.example.internal';
const cloudEndpointUrl = 'https://tools.example.com';
const desktop = { width: 1280, height: 860 };
const mobile = { width: 390, height: 844 };

const harness = createBrowserHarness({
  name: 'polish',
  // Creating an API key without saying what it is for, refused on purpose.
  expectedFailedResponses: [/^400 POST \/api\/api-keys$/],
  stepTimeoutMs: 90_000,
});
const { step, screenshot, api, replaceEditorText } = harness;
let services;
let page;
let cloudEndpointId;

/** A fresh browser context and page (a new color scheme, no session), at desktop size unless `options` say otherwise. */
async function newPage(options = {}) {
  page = await harness.newPage({ viewport: desktop, ...options });
  return page;
}

async function signIn(credentials) {
  await page.goto(`${services.dashboardUrl}/sign-in`);
  await page.getByLabel('Email').fill(credentials.email);
  await page.getByLabel(/^Password/).fill(credentials.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('color-scheme-toggle').waitFor();
}

/** One GET through the data plane for the cloud endpoint; answers its status. */
async function sendThroughDataplane(path) {
  return (await harness.sendThroughDataplane(cloudEndpointUrl, { method: 'GET', path })).status;
}

/**
 * At phone width, a table must not scroll sideways and its `headers` must lie within the screen: the status of a row
 * is what a phone user came for (issue 19: "tables hide status").
 */
async function assertTableFitsPhone(testId, headers) {
  const table = page.getByTestId(testId);
  await table.waitFor();
  const scroll = await table.evaluate((element) => {
    const viewport = element.closest('.mantine-ScrollArea-viewport') ?? element.parentElement;
    return { scrollWidth: viewport.scrollWidth, clientWidth: viewport.clientWidth };
  });
  assert.ok(
    scroll.scrollWidth <= scroll.clientWidth + 1,
    `${testId}: the table does not scroll sideways at 390 px (${scroll.scrollWidth} > ${scroll.clientWidth} px)`,
  );
  for (const header of headers) {
    const box = await table.getByRole('columnheader', { name: header, exact: true }).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= mobile.width, `${testId}: ${header} is on screen at 390 px`);
  }
}

before(async () => {
  page = await harness.start({ viewport: desktop, colorScheme: 'light' });
  services = harness.services;
});

after(() => harness.stop());

step('setup, endpoints and a viewer exist', async () => {
  await harness.completeFirstRunSetup(admin);
  const internal = await api('POST', '/api/endpoints', {
    url: internalEndpointUrl,
    type: 'internal',
    upstream_url: services.upstream.url,
  });
  assert.equal(internal.status, 201, JSON.stringify(internal.body));
  // The cloud endpoint gets its policy in the creation form, with no red error shown before anything is typed.
  await page.goto(`${services.dashboardUrl}/endpoints/new`);
  await page.getByRole('radio', { name: 'Internal' }).check();
  await page.getByRole('radio', { name: 'Cloud' }).check();
  assert.equal(await page.getByText(/^Enter the/).count(), 0, 'no error before the user typed');
  await page.getByLabel(/^URL/).fill(cloudEndpointUrl);
  await page.getByText('Write or paste one').click();
  await page
    .getByLabel(/^Policy \(YAML or JSON\)/)
    .fill(
      'on_http_request:\n  - name: Hello\n    actions:\n      - type: custom-response\n        config:\n          status_code: 200\n          body: hello\n',
    );
  await page.getByRole('button', { name: 'Create endpoint' }).click();
  await page.getByTestId('endpoint-url').filter({ hasText: cloudEndpointUrl }).waitFor();
  await page.getByTestId('traffic-address').filter({ hasText: 'tools.example.com' }).waitFor();
  cloudEndpointId = /\/endpoints\/([^/]+)/.exec(page.url())[1];
  const created = await api('GET', `/api/endpoints/${cloudEndpointId}`);
  assert.match(created.body.traffic_policy, /name: Hello/);
  const user = await api('POST', '/api/users', { ...viewer, role: 'viewer' });
  assert.equal(user.status, 201, JSON.stringify(user.body));
  const key = await api('POST', '/api/api-keys', { description: '', role: 'viewer' });
  assert.equal(key.status, 400, 'an API key without a description is refused');
  assert.equal(key.body.error_code, 'VALIDATION_FAILED');
  assert.equal((await api('POST', '/api/api-keys', { description: 'CI deploy job', role: 'viewer' })).status, 201);
});

step('CEL completion lists the request fields after "req." with their documentation', async () => {
  await page.goto(`${services.dashboardUrl}/endpoints/${cloudEndpointId}/policy`);
  await page.locator('[data-testid=policy-editor] .monaco-editor .view-lines').waitFor();
  await replaceEditorText('on_http_request:\n  - expressions:\n      - req.');
  await page.keyboard.press('Control+Space');
  const suggestions = page.locator('[data-testid=policy-editor] .monaco-editor .suggest-widget .monaco-list-row');
  await suggestions.first().waitFor();
  const labels = await suggestions.evaluateAll((rows) => rows.map((row) => row.getAttribute('aria-label') ?? ''));
  for (const field of ['method', 'headers', 'url']) {
    assert.ok(
      labels.some((label) => label.startsWith(field)),
      `"${field}" is offered after req.: ${labels.join(' / ')}`,
    );
  }
  assert.ok(!labels.some((label) => label.startsWith('hasReqHeader')), 'functions are not offered after req.');
  await screenshot('polish-cel-completion-desktop');
  await page.keyboard.press('Escape');
});

step('CEL completion lists a namespace\'s functions after "hash." with their documentation', async () => {
  await replaceEditorText('on_http_request:\n  - expressions:\n      - hash.');
  const suggestions = page.locator('[data-testid=policy-editor] .monaco-editor .suggest-widget .monaco-list-row');
  // Monaco may still be closing the previous widget or reading the pasted text: ask again until it answers.
  for (let attempt = 0; attempt < 5 && !(await suggestions.first().isVisible()); attempt++) {
    await page.keyboard.press('Control+Space');
    await suggestions
      .first()
      .waitFor({ timeout: 3_000 })
      .catch(() => page.keyboard.press('Escape'));
  }
  await suggestions.first().waitFor();
  const labels = await suggestions.evaluateAll((rows) => rows.map((row) => row.getAttribute('aria-label') ?? ''));
  for (const name of ['md5', 'sha256', 'xxhash64']) {
    assert.ok(
      labels.some((label) => label.startsWith(name)),
      `"${name}" is offered after hash.: ${labels.join(' / ')}`,
    );
  }
  assert.ok(!labels.some((label) => label.startsWith('method')), 'request fields are not offered after hash.');
  await page.keyboard.press('Escape');
});

step('action types: completion offers only supported ones, the hover lists them all once', async () => {
  await replaceEditorText('on_http_request:\n  - actions:\n      - type: ');
  const suggestions = page.locator('[data-testid=policy-editor] .monaco-editor .suggest-widget .monaco-list-row');
  // The YAML language service runs in a worker that may still be reading the pasted text: ask again until it answers.
  for (let attempt = 0; attempt < 5 && !(await suggestions.first().isVisible()); attempt++) {
    await page.keyboard.press('Control+Space');
    await suggestions
      .first()
      .waitFor({ timeout: 3_000 })
      .catch(() => page.keyboard.press('Escape'));
  }
  await suggestions.first().waitFor();
  const labels = await suggestions.evaluateAll((rows) => rows.map((row) => row.getAttribute('aria-label') ?? ''));
  assert.ok(
    labels.some((label) => label.startsWith('deny')),
    `deny is offered: ${labels.join(' / ')}`,
  );
  assert.ok(!labels.some((label) => /^(owasp|terminate-tls)/.test(label)), `no unsupported action: ${labels}`);
  await page.keyboard.press('Escape');
  await replaceEditorText('on_http_request:\n  - actions:\n      - type: rate-limit\n');
  await page
    .locator('[data-testid=policy-editor] .monaco-editor .view-line span', { hasText: 'rate-limit' })
    .last()
    .hover();
  const hover = page.locator('.monaco-hover-content').filter({ hasText: 'Supported actions' });
  await hover.waitFor();
  const text = await hover.textContent();
  assert.match(text, /rate-limit/);
  assert.match(text, /forward-internal/);
  assert.match(text, /openid-connect/);
  assert.doesNotMatch(text, /owasp|terminate-tls/);
  assert.equal(text.split('Supported actions').length, 2, 'the list appears once');
  assert.doesNotMatch(text, /\((POLICY_\w+)\)\(\1\)/, 'a problem code is shown once');
  const box = await hover.boundingBox();
  const header = await page.locator('header').boundingBox();
  assert.ok(box.y >= header.y + header.height - 1, 'the hover is not under the header');
  await screenshot('polish-action-hover-desktop');
  await page.mouse.move(0, 0);
});

step('a misspelt function gets a "did you mean" and a parse error plain words', async () => {
  await replaceEditorText(
    'on_http_request:\n  - expressions:\n      - "!hasReqHeadr(\'authorization\')"\n    actions:\n      - type: deny\n',
  );
  await page
    .getByText(/Unknown function hasReqHeadr\(\)\. Did you mean "hasReqHeader"\?/)
    .first()
    .waitFor();
  await replaceEditorText(
    'on_http_request:\n  - expressions:\n      - "(req.method == \'GET\'"\n    actions:\n      - type: deny\n',
  );
  await page
    .getByText(/The expression ends before a closing '\)'/)
    .first()
    .waitFor();
});

step('the dashboard follows the OS color scheme, and the toggle overrides it across reloads', async () => {
  await newPage({ colorScheme: 'dark' });
  await signIn(admin);
  const scheme = () => page.evaluate(() => document.documentElement.getAttribute('data-mantine-color-scheme'));
  assert.equal(await scheme(), 'dark', 'an OS in dark mode gives a dark dashboard');
  await page.goto(`${services.dashboardUrl}/endpoints/${cloudEndpointId}/policy`);
  await page.locator('[data-testid=policy-editor] .monaco-editor.vs-dark').waitFor();
  await screenshot('polish-dark-policy-desktop');
  await page.getByTestId('color-scheme-toggle').click();
  assert.equal(await scheme(), 'light');
  await page.locator('[data-testid=policy-editor] .monaco-editor.vs').waitFor();
  await page.reload();
  await page.getByTestId('color-scheme-toggle').waitFor();
  assert.equal(await scheme(), 'light', 'the choice is kept across reloads');
  await page.getByTestId('color-scheme-toggle').click();
  assert.equal(await scheme(), 'dark');

  await newPage({ colorScheme: 'light' });
  await signIn(admin);
  assert.equal(await scheme(), 'light', 'an OS in light mode gives a light dashboard');
});

step('keyboard shortcuts: ? lists them, g then a letter navigates, / focuses the search', async () => {
  await page.goto(`${services.dashboardUrl}/endpoints`);
  await page.getByTestId('color-scheme-toggle').waitFor();
  await page.locator('body').press('?');
  const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await dialog.waitFor();
  await dialog.getByText('Go to Audit log').waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  await page.keyboard.press('g');
  await page.keyboard.press('a');
  await page.waitForURL('**/audit-events');
  await page.keyboard.press('g');
  await page.keyboard.press('e');
  await page.waitForURL('**/endpoints');
  await page.locator('[data-shortcut="search"]').waitFor();
  // The page may still be settling after the navigation (a key handled mid-render is lost): press again if needed.
  let focused = false;
  for (let attempt = 0; attempt < 3 && !focused; attempt += 1) {
    await page.keyboard.press('/');
    focused = await page
      .waitForFunction(() => document.activeElement?.getAttribute('data-shortcut') === 'search', null, {
        timeout: 2_000,
      })
      .then(
        () => true,
        () => false,
      );
  }
  assert.ok(focused, '/ focuses the search box');
});

step('the audit log names endpoints by URL and shows a change as fields, not escaped JSON', async () => {
  await page.goto(`${services.dashboardUrl}/audit-events`);
  const timeline = page.getByTestId('audit-timeline');
  await timeline.getByRole('link', { name: cloudEndpointUrl }).first().waitFor();
  assert.equal(await timeline.getByText(/^ep_/).count(), 0, 'no endpoint is shown by id');
  await page.getByRole('button', { name: 'Show the change' }).first().click();
  await page.getByTestId('audit-change').first().waitFor();
});

step('a viewer is not told that Ctrl+S saves', async () => {
  await newPage({ colorScheme: 'light' });
  await signIn(viewer);
  await page.goto(`${services.dashboardUrl}/endpoints/${cloudEndpointId}/policy`);
  await page.getByTestId('editor-help').waitFor();
  assert.doesNotMatch(await page.getByTestId('editor-help').textContent(), /Ctrl\+S/);
});

/** Every page, by name: its path and what must be on it once loaded. */
const pages = () => [
  ['endpoints', '/endpoints', (p) => p.getByRole('table').first()],
  ['new-endpoint', '/endpoints/new', (p) => p.getByRole('button', { name: 'Create endpoint' })],
  [
    'endpoint-policy',
    `/endpoints/${cloudEndpointId}/policy`,
    (p) => p.locator('[data-testid=policy-editor] .monaco-editor .view-lines'),
  ],
  ['endpoint-versions', `/endpoints/${cloudEndpointId}/versions`, (p) => p.getByTestId('traffic-address')],
  [
    'endpoint-settings',
    `/endpoints/${cloudEndpointId}/settings`,
    (p) => p.getByRole('button', { name: 'Save settings' }),
  ],
  ['request-logs', '/request-logs', (p) => p.getByRole('heading', { name: 'Request log' })],
  ['ip-categories', '/ip-categories', (p) => p.getByRole('table').first()],
  ['data-planes', '/data-planes', (p) => p.getByRole('table').first()],
  ['audit-events', '/audit-events', (p) => p.getByTestId('audit-timeline')],
  ['api-keys', '/api-keys', (p) => p.getByRole('table').first()],
  ['users', '/users', (p) => p.getByRole('table').first()],
];

step('every page at 1280×860 and 390×844: screenshots, no header spill, status kept, axe clean', async () => {
  await newPage({ colorScheme: 'light' });
  await signIn(admin);
  // A few requests through the data plane, so the request log shows rows (its columns are what a phone must fit).
  const deadline = Date.now() + 15_000;
  while ((await sendThroughDataplane('/polish/ready')) !== 200) {
    assert.ok(Date.now() < deadline, 'the data plane never served the cloud endpoint');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (const path of ['/polish/one', '/polish/two']) assert.equal(await sendThroughDataplane(path), 200);
  while (((await api('GET', '/api/request-logs')).body?.request_logs ?? []).length < 3) {
    assert.ok(Date.now() < deadline, 'the requests never reached the request log');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (const [viewportName, viewport] of [
    ['desktop', desktop],
    ['mobile', mobile],
  ]) {
    await page.setViewportSize(viewport);
    for (const [name, path, ready] of pages()) {
      await page.goto(`${services.dashboardUrl}${path}`);
      await ready(page).waitFor();
      const layout = await page.evaluate(() => {
        const header = document.querySelector('header');
        const main = document.querySelector('main');
        return {
          // Content wider or taller than the fixed header bar is what spills over the page below it.
          headerOverflows: header.scrollWidth > header.clientWidth + 1 || header.scrollHeight > header.clientHeight + 1,
          headerBottom: header.getBoundingClientRect().bottom,
          // AppShell.Main starts under the header by its top padding.
          mainTop: main.getBoundingClientRect().top + Number.parseFloat(getComputedStyle(main).paddingTop),
          pageOverflows: document.documentElement.scrollWidth > window.innerWidth + 1,
          // Named in the failure: the outermost elements that stick out to the right.
          wide: [...document.querySelectorAll('main *:not(.monaco-editor *)')]
            .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 1)
            .filter(
              (element) =>
                !element.parentElement || element.parentElement.getBoundingClientRect().right <= window.innerWidth + 1,
            )
            .slice(0, 4)
            .map(
              (element) =>
                `${element.tagName.toLowerCase()}.${[...element.classList].slice(0, 2).join('.')} (${Math.round(element.getBoundingClientRect().right)} px)`,
            ),
        };
      });
      assert.ok(!layout.headerOverflows, `${name} ${viewportName}: the header content fits its width`);
      assert.ok(
        layout.headerBottom <= layout.mainTop + 1,
        `${name} ${viewportName}: the header ends above the content`,
      );
      assert.ok(
        !layout.pageOverflows,
        `${name} ${viewportName}: nothing makes the page scroll sideways (${layout.wide.join(', ')})`,
      );
      await screenshot(`polish-${name}-${viewportName}`);
    }
  }
  // On a phone the data planes table keeps its Status column in view; secondary columns make way.
  await page.goto(`${services.dashboardUrl}/data-planes`);
  const status = page.getByRole('columnheader', { name: 'Status' });
  await status.waitFor();
  const box = await status.boundingBox();
  assert.ok(box && box.x + box.width <= mobile.width, 'the Status column is on screen at 390 px');
  // The request log and IP categories keep their status in view without scrolling the table sideways.
  await page.goto(`${services.dashboardUrl}/request-logs`);
  await page.getByTestId('request-logs-table').locator('tbody tr').first().waitFor();
  await assertTableFitsPhone('request-logs-table', ['Status', 'Decision']);
  await page.goto(`${services.dashboardUrl}/ip-categories`);
  await assertTableFitsPhone('ip-categories-table', ['Name', 'Actions']);
  for (const hidden of ['Description', 'Addresses']) {
    assert.equal(
      await page.getByRole('columnheader', { name: hidden, exact: true }).isVisible(),
      false,
      `${hidden} makes way on a phone`,
    );
  }
  // Filters fold behind a button on a phone, on the request log too.
  await page.goto(`${services.dashboardUrl}/request-logs?status=4xx`);
  const logFilters = page.getByRole('button', { name: /^Filters/ });
  await logFilters.waitFor();
  assert.match(await logFilters.textContent(), /1/, 'the button counts the filters set');
  assert.equal(await page.getByLabel('Status', { exact: true }).isVisible(), false, 'filters start folded');
  await logFilters.click();
  await page.getByLabel('Status', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.waitForURL((url) => url.search === '');
  await page.goto(`${services.dashboardUrl}/audit-events`);
  const filters = page.getByRole('button', { name: 'Filters' });
  await filters.waitFor();
  assert.equal(await page.getByLabel('Actor').isVisible(), false, 'filters start folded on a phone');
  await filters.click();
  await page.getByLabel('Actor').waitFor();
});

harness.finalChecks();
