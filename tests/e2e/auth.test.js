/*
 * auth.test.js - browser test of the login (issue 9, item 2): with the
 * loopback exemption off, a page sends the browser to the login form; a
 * wrong password is refused with a message; the right one returns to the
 * page asked for, with an HttpOnly session cookie that scripts cannot
 * read; the pages' own requests (the sidebar's polling) then work; the
 * Security tab shows the API key; Log out ends the session.
 *
 * Plain Node, no test runner:  node tests/e2e/auth.test.js
 * The harness (daemon, browser, summary line) is tests/e2e/lib.js.
 */
'use strict';

const path = require('path');
const { spawnSync } = require('child_process');
const e2e = require('./lib');

const { assert, waitFor } = e2e;

const PASSWORD = 'Sigur Rós & Björk <b>"\'坂本龍一';

/* `soulspotd --set-password` against the running daemon's data folder; the
 * daemon reads the hash at each login. */
function setPassword(dir) {
  const r = spawnSync(path.join(e2e.BUILD, 'soulspotd'),
    ['--data-dir', dir, '--config', path.join(dir, 'soulspotd.ini'), '--set-password'],
    { input: `${PASSWORD}\n`, env: e2e.cleanEnv(), encoding: 'utf8', timeout: 10000 });
  assert(r.status === 0, `--set-password exited ${r.status}: ${r.stderr}`);
  assert(!r.stderr.includes(PASSWORD), '--set-password printed the password');
}

e2e.run(async ({ page, base, check, dir, allowProblem }) => {
  setPassword(dir);

  await check('a page without a session leads to the login form', async () => {
    await page.goto(`${base}/settings?tab=security`);
    const url = new URL(page.url());
    assert(url.pathname === '/login', `landed on ${page.url()}`);
    assert(url.searchParams.get('next') === '/settings',
      `next is ${url.searchParams.get('next')}`);
    assert(await page.isVisible('#password'), 'no password field');
  });

  await check('a wrong password is refused with a message', async () => {
    allowProblem(/HTTP 401 for POST .*\/login/);
    allowProblem(/\/login: Failed to load resource: .* status of 401/);
    await page.fill('#password', 'Guns N\' Roses');
    await Promise.all([page.waitForNavigation(), page.click('#login-submit')]);
    const text = await page.textContent('#auth-error');
    assert(text.includes('Wrong password'), `message: ${text}`);
    const cookies = await page.context().cookies();
    assert(!cookies.some((c) => c.name === 'soulspot_session'), 'a cookie was set');
  });

  await check('the right password returns to the page with an HttpOnly cookie', async () => {
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('#login-submit')]);
    assert(new URL(page.url()).pathname === '/settings', `landed on ${page.url()}`);
    const c = (await page.context().cookies()).find((x) => x.name === 'soulspot_session');
    assert(c, 'no session cookie');
    assert(c.httpOnly, 'the cookie is not HttpOnly');
    assert(c.sameSite === 'Strict', `SameSite=${c.sameSite}`);
    const visible = await page.evaluate(() => document.cookie);
    assert(!visible.includes('soulspot_session'), 'scripts can read the cookie');
  });

  await check('the sidebar polls work after the login', async () => {
    await waitFor('the worker indicator', async () =>
      (await page.$$('.worker-status i')).length > 0, e2e.POLL_TIMEOUT_MS);
  });

  await check('the Security tab shows the API key', async () => {
    await page.goto(`${base}/settings?tab=security`);
    const key = (await page.textContent('#api-key')).trim();
    assert(/^[0-9a-f]{32}$/.test(key), `key: ${key}`);
    const resp = await page.request.get(`${base}/api/workers/status`,
      { headers: { 'X-Api-Key': key, Cookie: '' } });
    assert(resp.status() === 200, `the key gave ${resp.status()}`);
  });

  await check('log out ends the session', async () => {
    await Promise.all([page.waitForNavigation(), page.click('#logout')]);
    assert(new URL(page.url()).pathname === '/login', `landed on ${page.url()}`);
    await page.goto(`${base}/`);
    assert(new URL(page.url()).pathname === '/login', `/ gave ${page.url()}`);
  });
}, { config: '[server]\nauth_loopback_exempt=false\n' });
