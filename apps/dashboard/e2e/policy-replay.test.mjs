// Issue 17 item 2 in Debian Chromium against the real control plane, its request-log worker and a data plane
// (services.mjs): requests go through the data plane, the editor's Replay panel evaluates a draft on them and shows the
// decision diff, an example opens in the request log, and the restore preview replays the version being restored.
// Screenshots go to output/screenshots with a `replay-` prefix; each is also checked with axe-core.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { join } from 'node:path';
import { createBrowserHarness } from './browser-harness.mjs';
import { screenshotDirectory } from './services.mjs';

const admin = { email: 'admin@example.com', password: 'correct horse battery staple' };
const endpointUrl = 'https://replay.example.com';

const openPolicy = `on_http_request:
  - name: Answer
    actions:
      - type: custom-response
        config: { status_code: 200, body: open }
`;
const guardedPolicy = `on_http_request:
  - name: Token required
    expressions: ["!hasReqHeader('authorization')"]
    actions:
      - type: deny
        config: { status_code: 401 }
  - name: Answer
    actions:
      - type: custom-response
        config: { status_code: 200, body: open }
`;

const harness = createBrowserHarness({ name: 'replay' });
const { step, screenshot, replaceEditorText, sendThroughDataplane, waitForDataplaneToApplyLatestConfig } = harness;
let page;
let services;
let endpointPath;

async function api(method, path, body) {
  const answer = await harness.api(method, path, body);
  assert.ok(answer.status < 300, `${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

before(async () => {
  page = await harness.start({ viewport: { width: 1440, height: 900 } });
  services = harness.services;
});

after(() => harness.stop());

step('set-up: the first admin signs in, an endpoint gets traffic through the data plane', async () => {
  await harness.completeFirstRunSetup(admin);
  const endpoint = await api('POST', '/api/endpoints', { url: endpointUrl, type: 'cloud', traffic_policy: openPolicy });
  endpointPath = `/endpoints/${endpoint.id}`;
  await waitForDataplaneToApplyLatestConfig();
  for (let index = 0; index < 5; index++) {
    const headers = index < 3 ? { authorization: `Bearer replay-e2e-${index}` } : {};
    const answer = await sendThroughDataplane(endpointUrl, { method: 'GET', path: `/items/${index}`, headers });
    assert.equal(answer.status, 200, answer.body);
  }
  // The worker stores them (and their replay facts) within moments.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const logs = await api('GET', `/api/request-logs?endpoint_id=${endpoint.id}`);
    if (logs.request_logs.length >= 5) break;
    assert.ok(Date.now() < deadline, `only ${logs.request_logs.length} of 5 requests reached the request log`);
    await page.waitForTimeout(200);
  }
});

step(
  'the editor replays the draft: two requests without a token flip to 401, each opening in the request log',
  async () => {
    await page.goto(`${services.dashboardUrl}${endpointPath}/policy`);
    await page.locator('.monaco-editor .view-lines').first().waitFor();
    await replaceEditorText(guardedPolicy);
    await page.locator('[data-testid=policy-problems][data-state=valid]').waitFor();
    const panel = page.getByTestId('policy-replay-panel');
    await panel.getByRole('button', { name: 'Replay draft' }).click();
    const groups = panel.getByTestId('replay-groups');
    await groups.waitFor();
    assert.match(await groups.textContent(), /2 requests flip answer 200 → deny 401 \(rule 0 "Token required", deny\)/);
    assert.match(await panel.getByTestId('replay-changed').textContent(), /^2 changed$/);
    await screenshot('replay-editor-panel');

    // Examples open in a new tab, so the draft stays in the editor.
    const [tab] = await Promise.all([page.context().waitForEvent('page'), groups.getByRole('link').first().click()]);
    await tab.waitForURL(/\/request-logs\?request=/);
    await tab
      .getByRole('dialog')
      .getByText(/\/items\/[34]/)
      .first()
      .waitFor();
    await tab.screenshot({ path: join(screenshotDirectory, 'replay-example-request.png'), fullPage: true });
    await tab.close();
    assert.equal(await page.getByTestId('unsaved-badge').count(), 1, 'the draft is still in the editor');
  },
);

step('the restore preview replays the version being restored against the active one', async () => {
  await page.goto(`${services.dashboardUrl}${endpointPath}/policy`);
  await page.locator('.monaco-editor .view-lines').first().waitFor();
  await replaceEditorText(guardedPolicy);
  await page.locator('[data-testid=policy-problems][data-state=valid]').waitFor();
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByLabel('What changed?').fill('Require a token');
  await page.getByRole('button', { name: 'Save version' }).click();
  await page.getByText('Saved as version 2').waitFor();

  await page.getByRole('tab', { name: 'Versions' }).click();
  await page.getByRole('button', { name: 'Restore version 1' }).click();
  const dialog = page.getByRole('dialog');
  // First the diff against the active version: version 2's token rule marked as removed (the diff is computed in a
  // worker, so it is read until it shows).
  const deadline = Date.now() + 10_000;
  let diff;
  for (;;) {
    diff = await dialog.locator('.monaco-diff-editor').evaluate((element) => {
      const textOf = (side) =>
        [...element.querySelectorAll(`.editor.${side} .view-line`)]
          .map((line) => line.textContent.replace(/\u00a0/g, ' '))
          .join('\n');
      return {
        original: textOf('original'),
        modified: textOf('modified'),
        deleted: element.querySelectorAll('.line-delete, .char-delete').length,
      };
    });
    // The removed lines are marked (the inline view shows them on the modified side too, so their text is no test).
    if (diff.original.includes('Token required') && diff.modified.includes('name: Answer') && diff.deleted > 0) break;
    assert.ok(Date.now() < deadline, `the restore dialog's diff showed ${JSON.stringify(diff)}`);
    await page.waitForTimeout(200);
  }
  await dialog.getByRole('button', { name: 'Replay version 1' }).click();
  const groups = dialog.getByTestId('replay-groups');
  await groups.waitFor();
  assert.match(
    await groups.textContent(),
    /2 requests flip deny 401 → answer 200 \(rule 0 "Answer", custom-response\)/,
  );
  await screenshot('replay-restore-preview');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
});

harness.finalChecks();
