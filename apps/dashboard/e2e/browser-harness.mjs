// What every Chromium suite of the dashboard shares (services.mjs starts the processes; this drives the browser):
// steps that stop at the first failure, a watch on page errors and failed requests, screenshots that also run axe,
// and the few calls the suites make outside the page under test (the API from the signed-in page, a request through
// the data plane, waiting for the data plane to apply the latest config). One copy, so a suite says only what it
// checks.
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { chromiumPath, screenshotDirectory, startServices } from './services.mjs';

const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** Asking who is signed in before anyone is: every suite's first page load does it. */
const signedOutProbe = /^401 GET \/api\/auth\/me$/;

/** An answer's body: its JSON, null when empty, the text itself when it is not JSON (an HTML error page). */
function parseJsonOrText(text) {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * @param {object} options
 * @param {string} options.name the suite's name: prefixes its failure screenshots and names its service log
 * @param {RegExp[]} [options.expectedFailedResponses] `STATUS METHOD /path` answers the suite provokes on purpose
 * @param {boolean} [options.onlyLocalRequests] fail when the page requests anything but localhost (fonts, analytics)
 * @param {number} [options.stepTimeoutMs]
 */
export function createBrowserHarness({
  name,
  expectedFailedResponses = [],
  onlyLocalRequests = false,
  stepTimeoutMs = 60_000,
}) {
  const failedScreenshotPrefix = `failed-${name}-`;
  const serviceLogPath = join(screenshotDirectory, '..', `${name}-e2e-services.log`);
  const expectedFailures = [signedOutProbe, ...expectedFailedResponses];
  /** Judged by the suite's last step: collecting them lets every step run before the verdict. */
  const pageErrors = [];
  const accessibilityViolations = [];
  const requestsThatLeftLocalhost = [];
  // The steps build on each other: after one fails, the rest fail at once naming it instead of timing out one by one.
  let firstFailedStep = null;
  let currentStep = 'start-up';
  let browser;
  let context;

  const harness = {
    /** The started processes (services.mjs), once `start` resolved. */
    services: undefined,
    /** The page under test; `newPage` replaces it. */
    page: undefined,

    /** Starts the services and the browser with one page; `contextOptions` are Playwright's (viewport, colorScheme). */
    async start(contextOptions = {}) {
      mkdirSync(screenshotDirectory, { recursive: true });
      // Screenshots of failed steps and the processes' output describe one run only.
      for (const file of readdirSync(screenshotDirectory)) {
        if (file.startsWith(failedScreenshotPrefix)) rmSync(join(screenshotDirectory, file));
      }
      rmSync(serviceLogPath, { force: true });
      harness.services = await startServices();
      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumFlags });
      return harness.newPage(contextOptions);
    },

    /** A fresh browser context (no cookies, no storage) and page, watched like the first. */
    async newPage(contextOptions = {}) {
      await context?.close();
      // Reduced motion: overlays and notifications appear at once, so no screenshot or contrast check meets a fade.
      context = await browser.newContext({
        viewport: { width: 1280, height: 860 },
        reducedMotion: 'reduce',
        ...contextOptions,
      });
      context.setDefaultTimeout(20_000);
      harness.page = await context.newPage();
      watchPage(harness.page);
      return harness.page;
    },

    async stop() {
      await browser?.close();
      await harness.services?.stop();
    },

    /** A named step; after one fails, the later ones fail at once naming it. */
    step(stepName, body) {
      test(stepName, { timeout: stepTimeoutMs }, async (testContext) => {
        if (firstFailedStep) throw new Error(`not run: the earlier step "${firstFailedStep}" failed`);
        currentStep = stepName;
        try {
          await body(testContext);
        } catch (error) {
          firstFailedStep = stepName;
          await harness.page
            ?.screenshot({
              path: join(
                screenshotDirectory,
                `${failedScreenshotPrefix}${stepName.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`,
              ),
              fullPage: true,
            })
            .catch(() => undefined);
          if (harness.services) {
            writeFileSync(serviceLogPath, harness.services.logs());
            testContext.diagnostic(`what the started processes printed: ${serviceLogPath}`);
          }
          throw error;
        }
      });
    },

    /** The suite's last step: every page error, unexpected failed request and serious axe finding of the run. */
    finalChecks() {
      test('no page error, no unexpected failed request, no serious accessibility violation', () => {
        assert.deepEqual(requestsThatLeftLocalhost, []);
        assert.deepEqual(pageErrors, []);
        assert.deepEqual(accessibilityViolations, []);
      });
    },

    /** A full-page screenshot in output/screenshots, and an axe check of the screen as shot. */
    async screenshot(screenName) {
      await waitForStillness();
      await harness.page.screenshot({ path: join(screenshotDirectory, `${screenName}.png`), fullPage: true });
      await checkAccessibility(screenName);
    },

    /** The API from the signed-in page: its session cookie and same-origin fetch, as the dashboard calls it. */
    async api(method, path, body) {
      const answer = await harness.page.evaluate(
        async ({ method, path, body }) => {
          const response = await fetch(path, {
            method,
            headers: body === undefined ? {} : { 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          return { status: response.status, text: await response.text() };
        },
        { method, path, body },
      );
      return { status: answer.status, body: parseJsonOrText(answer.text) };
    },

    /** Creates the first administrator on the setup screen the dashboard opens with, and waits until signed in. */
    async completeFirstRunSetup(admin) {
      const page = harness.page;
      await page.goto(harness.services.dashboardUrl);
      await page.waitForURL('**/setup');
      await page.getByLabel('Email').fill(admin.email);
      await page.getByLabel(/^Password/).fill(admin.password);
      await page.getByLabel(/^Repeat the password/).fill(admin.password);
      await page.getByRole('button', { name: 'Create administrator' }).click();
      await page.getByTestId('signed-in-as').waitFor();
    },

    /** Pastes `text` into the Monaco editor, replacing everything (typing would auto-indent each new line). */
    async replaceEditorText(text) {
      const page = harness.page;
      await page.locator('.monaco-editor .view-lines').first().click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.evaluate((pasted) => {
        const clipboardData = new DataTransfer();
        clipboardData.setData('text/plain', pasted);
        document.activeElement.dispatchEvent(
          new ClipboardEvent('paste', { clipboardData, bubbles: true, cancelable: true }),
        );
      }, text);
    },

    /** One request through the data plane's traffic port for `endpointUrl` (node:http: fetch does not send Host). */
    sendThroughDataplane(endpointUrl, { method = 'POST', path, headers = {}, body }) {
      return new Promise((resolve, reject) => {
        const outgoing = httpRequest(
          {
            host: '127.0.0.1',
            port: harness.services.dataplanePort,
            method,
            path,
            headers: {
              host: new URL(endpointUrl).host,
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
              ...headers,
            },
            timeout: 10_000,
          },
          (response) => {
            const chunks = [];
            response.on('data', (chunk) => chunks.push(chunk));
            response.on('end', () =>
              resolve({ status: response.statusCode, body: Buffer.concat(chunks).toString('utf8') }),
            );
            response.on('error', reject);
          },
        );
        outgoing.on('timeout', () => outgoing.destroy(new Error(`${method} ${path} through the data plane timed out`)));
        outgoing.on('error', reject);
        outgoing.end(body);
      });
    },

    /** Waits until the data plane enforces the control plane's latest config revision (it reports what it applied). */
    async waitForDataplaneToApplyLatestConfig() {
      const { services } = harness;
      const snapshot = await fetch(`${services.apiUrl}/api/dataplane/config`, {
        headers: { authorization: `Bearer ${services.dataplaneToken}` },
      });
      assert.equal(snapshot.status, 200, await snapshot.clone().text());
      const { revision } = await snapshot.json();
      const deadline = Date.now() + 10_000;
      let applied;
      while (Date.now() < deadline) {
        ({ applied_revision: applied } = await (await fetch(`${services.dataplaneAdminUrl}/status`)).json());
        if (applied >= revision) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.fail(`the data plane applied revision ${applied}, not ${revision}, within 10 s`);
    },

    navigationLink(linkName) {
      return harness.page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: linkName });
    },
  };

  function watchPage(page) {
    page.on('request', (request) => {
      if (!onlyLocalRequests) return;
      const url = new URL(request.url());
      if (['data:', 'blob:'].includes(url.protocol)) return;
      if (!['127.0.0.1', 'localhost'].includes(url.hostname)) requestsThatLeftLocalhost.push(request.url());
    });
    page.on('pageerror', (error) =>
      pageErrors.push(
        `page error in "${currentStep}": ${error.stack?.split('\n').slice(0, 4).join(' | ') ?? error.message}`,
      ),
    );
    page.on('console', (message) => {
      // Failed loads are judged by URL below; the console only repeats them without one.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        pageErrors.push(`console error in "${currentStep}": ${message.text()}`);
      }
    });
    page.on('response', (response) => {
      if (response.status() < 400) return;
      const failure = `${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`;
      if (!expectedFailures.some((expected) => expected.test(failure)))
        pageErrors.push(`failed request in "${currentStep}": ${failure}`);
    });
  }

  /** Waits until transitions end: fading drawers and notifications would be shot and measured half transparent. */
  async function waitForStillness() {
    const { page } = harness;
    // A transition starts a frame or two after the state that asks for it; let those frames pass before looking.
    await page.evaluate(
      () => new Promise((resolve) => window.requestAnimationFrame(() => window.requestAnimationFrame(resolve))),
    );
    await page.waitForFunction(() =>
      document
        .getAnimations()
        .every(
          (animation) => animation.effect?.getTiming().iterations === Infinity || animation.playState !== 'running',
        ),
    );
  }

  /** axe-core on the page as it is (light or dark); serious and critical violations are kept for `finalChecks`. */
  async function checkAccessibility(screenName) {
    const { page } = harness;
    // Evaluated through the DevTools protocol: an inline <script> tag would be (rightly) refused by the page's CSP.
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      // Monaco's markup is Monaco's: its read-only diff leaves its hidden edit surfaces unnamed (the diff itself is
      // named), and its suggest widget names a row "label, detail" beside a documentation expander, which axe reads as
      // a name mismatch. Monaco also draws its own text colors, so contrast is checked everywhere but inside it.
      const everythingButContrast = await window.axe.run(
        { exclude: [['.monaco-diff-editor .native-edit-context'], ['.monaco-editor .suggest-widget']] },
        { resultTypes: ['violations'], rules: { 'color-contrast': { enabled: false } } },
      );
      const contrastOutsideMonaco = await window.axe.run(
        { exclude: [['.monaco-editor']] },
        { resultTypes: ['violations'], runOnly: ['color-contrast'] },
      );
      return [...everythingButContrast.violations, ...contrastOutsideMonaco.violations]
        .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
        .map(
          (violation) =>
            `${violation.id} (${violation.help}): ${violation.nodes
              .map((node) => `${node.target.join(' ')}${node.any[0]?.message ? ` [${node.any[0].message}]` : ''}`)
              .slice(0, 3)
              .join(' | ')}`,
        );
    });
    accessibilityViolations.push(...violations.map((violation) => `${screenName}: ${violation}`));
  }

  return harness;
}
