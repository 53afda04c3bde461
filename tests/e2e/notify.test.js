/*
 * notify.test.js - browser test of the settings page's Notifications tab:
 * with ntfy pointed at build/tests/fakes/fake_receiver, "Send test: ntfy"
 * reaches the receiver (Title, Authorization) and the status line polled
 * by the card turns to "sent"; Gotify pointed at a closed port shows the
 * error beside its button; a target without a URL says "not configured".
 *
 * Plain Node, no test runner:  node tests/e2e/notify.test.js
 * The harness (daemon, browser, summary line) is tests/e2e/lib.js.
 */
'use strict';

const path = require('path');
const { spawn } = require('child_process');
const e2e = require('./lib');

const { assert, waitFor, apiJson } = e2e;

const TOKEN = 'tk_e2e_token_1234';

/* Starts fake_receiver and waits for the URL it prints. */
async function startReceiver() {
  const child = spawn(path.join(e2e.BUILD, 'tests', 'fakes', 'fake_receiver'), [],
    { stdio: ['ignore', 'pipe', 'pipe'], env: e2e.cleanEnv() });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const url = await waitFor('the URL of fake_receiver', () => {
    if (child.exitCode !== null) throw new Error(`fake_receiver exited: ${out.trim()}`);
    const m = /^url=(\S+)$/m.exec(out);
    return m ? m[1] : null;
  }, 10000);
  return { child, url };
}

/* Clicks the button and waits for htmx's POST /api/notify/test. */
async function sendTest(page, target) {
  const answered = page.waitForResponse((r) => r.request().method() === 'POST' &&
    new URL(r.url()).pathname === '/api/notify/test');
  await page.locator(`#notify-test-${target}`).click();
  const resp = await answered;
  assert(resp.status() === 202, `POST /api/notify/test gave ${resp.status()}`);
}

e2e.run(async ({ page, base, check }) => {
  const rx = await startReceiver();
  try {
    await check('the Notifications tab lists every target', async () => {
      await page.goto(`${base}/settings?tab=notifications`);
      for (const t of ['webhook', 'ntfy', 'gotify']) {
        await page.locator(`#notify-test-${t}`).waitFor();
        const line = page.locator(`#notify-status-${t}`);
        assert(await line.getAttribute('data-result') === 'off', `${t} not "off"`);
        assert((await line.innerText()).includes('not configured'), `${t}: ${await line.innerText()}`);
      }
      await e2e.assertNoSideScroll(page, '/settings?tab=notifications');
    });

    await check('Send test reaches ntfy and the status says sent', async () => {
      const resp = await page.request.patch(`${base}/api/settings`, {
        data: {
          'notify.ntfy_url': `${rx.url}/ntfy/soulspot`,
          'notify.ntfy_token': TOKEN,
          'notify.gotify_url': 'http://127.0.0.1:9',
          'notify.gotify_token': 'gotify-e2e',
        },
      });
      assert(resp.status() === 200, `PATCH /api/settings gave ${resp.status()}`);
      await page.goto(`${base}/settings?tab=notifications`);
      const html = await page.content();
      assert(!html.includes(TOKEN), 'the token is on the page');
      await sendTest(page, 'ntfy');
      const got = await waitFor('the receiver to get the test', async () => {
        const list = await apiJson(page, `${rx.url}/_received`);
        return list.find((r) => r.path === '/ntfy/soulspot') || null;
      }, 15000);
      assert(got.title === 'soulspotd test message', `title ${got.title}`);
      assert(got.authorization === `Bearer ${TOKEN}`, `authorization ${got.authorization}`);
      const line = page.locator('#notify-status-ntfy');
      await waitFor('the status line to say sent', async () =>
        (await line.getAttribute('data-result')) === 'sent', 15000);
      const text = await line.innerText();
      assert(text.includes('sent (test)'), `status: ${text}`);
      assert(text.includes('1 sent, 0 failed'), `counts: ${text}`);
    });

    await check('a receiver that cannot be reached shows its error', async () => {
      await sendTest(page, 'gotify');
      const line = page.locator('#notify-status-gotify');
      await waitFor('the gotify line to show the error', async () =>
        (await line.getAttribute('data-result')) === 'error', 20000);
      const text = await line.innerText();
      assert(text.includes('error:'), `status: ${text}`);
      assert(text.includes('0 sent, 1 failed'), `counts: ${text}`);
      const status = await apiJson(page, `${base}/api/notify/status`);
      assert(status.targets.gotify.last.result === 'error', 'API does not say error');
      assert(status.targets.webhook.configured === false, 'webhook configured');
    });
  } finally {
    await e2e.stopProcess(rx);
  }
});
