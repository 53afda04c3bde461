/*
 * sidebar.test.js - browser test of soulspotd's pages and sidebar indicator.
 *
 * Plain Node, no test runner:  node tests/e2e/sidebar.test.js
 *   SOULSPOT_ROOT   repo root (node_modules with playwright-core); default ../..
 *   SOULSPOT_BUILD  build dir holding soulspotd; default ROOT/build
 *
 * Starts soulspotd on an ephemeral port with a temp data dir and a config
 * that points every external service at a closed local port (nothing
 * touches the internet), drives Debian's chromium through playwright-core
 * and prints "ok - NAME" / "not ok - NAME: reason" per check, then
 * "N passed, N failed".  Waits are conditions with deadlines, never fixed
 * sleeps.  The daemon and the browser are always stopped.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const ROOT = process.env.SOULSPOT_ROOT || path.resolve(__dirname, '..', '..');
const BUILD = process.env.SOULSPOT_BUILD || path.join(ROOT, 'build');
const { chromium } = require(require.resolve('playwright-core', { paths: [ROOT] }));

const START_TIMEOUT_MS = 10000;
const POLL_TIMEOUT_MS = 15000; /* the sidebar polls every 10 s */
const STOP_TIMEOUT_MS = 5000;

const WORKERS = [
  ['token_refresh', 'bi bi-key', 'wk-idle'],
  ['spotify_sync', 'bi bi-spotify', 'wk-idle'],
  ['download_monitor', 'bi bi-download', 'wk-idle'],
  ['automation', 'bi bi-robot', 'wk-stopped'],
  ['cleanup', 'bi bi-trash3', 'wk-stopped'],
  ['duplicate_detector', 'bi bi-copy', 'wk-stopped'],
];

const CONFIG = [
  '[spotify]',
  'api_url=http://127.0.0.1:9/v1',
  'accounts_url=http://127.0.0.1:9',
  '[musicbrainz]',
  'url=http://127.0.0.1:9/ws/2',
  '[coverart]',
  'url=http://127.0.0.1:9',
  '',
].join('\n');

/* ------------------------------------------------------------ helpers */

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/* Polls fn (sync or async) until it returns a truthy value. */
async function waitFor(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
        (typeof last === 'string' ? ` (${last})` : ''));
    }
    await delay(100);
  }
}

function tail(file, lines) {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch (e) {
    return '';
  }
}

/* The environment without SOULSPOT_* overrides, so the test is hermetic. */
function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SOULSPOT_')) env[k] = v;
  }
  return env;
}

async function startDaemon(dir) {
  const cfg = path.join(dir, 'soulspotd.ini');
  const log = path.join(dir, 'soulspotd.log');
  const portFile = path.join(dir, 'soulspotd.port');
  fs.writeFileSync(cfg, CONFIG);
  const out = fs.openSync(log, 'w');
  const child = spawn(path.join(BUILD, 'soulspotd'),
    ['--listen', '127.0.0.1:0', '--data-dir', dir, '--config', cfg],
    { stdio: ['ignore', out, out], env: cleanEnv() });
  fs.closeSync(out);
  let spawnError = null;
  child.on('error', (e) => { spawnError = e; });
  const port = await waitFor('soulspotd.port', () => {
    if (spawnError) throw new Error(`cannot start soulspotd: ${spawnError.message}`);
    if (child.exitCode !== null) {
      throw new Error(`soulspotd exited with ${child.exitCode}: ${tail(log, 5)}`);
    }
    const text = fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8').trim() : '';
    return /^[0-9]+$/.test(text) && Number(text) > 0 ? Number(text) : null;
  }, START_TIMEOUT_MS).catch((e) => {
    child.kill('SIGKILL');
    throw e;
  });
  return { child, log, base: `http://127.0.0.1:${port}` };
}

async function stopDaemon(daemon) {
  if (!daemon || daemon.child.exitCode !== null || daemon.child.signalCode) return;
  const exited = new Promise((resolve) => daemon.child.once('exit', resolve));
  daemon.child.kill('SIGTERM');
  const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS));
  if (await Promise.race([exited, timer]) === 'timeout') {
    daemon.child.kill('SIGKILL');
    await exited;
  }
}

/* Records console errors, page errors and failed or >= 400 requests. */
function watchProblems(page, problems) {
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error on ${page.url()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error on ${page.url()}: ${err.message}`));
  page.on('requestfailed', (req) => {
    const why = req.failure() ? req.failure().errorText : 'unknown';
    /* A poll cut short by our own navigation is not a failure. */
    if (why.includes('ERR_ABORTED')) return;
    problems.push(`request failed: ${req.method()} ${req.url()}: ${why}`);
  });
  page.on('response', (resp) => {
    if (resp.status() >= 400) {
      problems.push(`HTTP ${resp.status()} for ${resp.request().method()} ${resp.url()}`);
    }
  });
}

/* Worker icons of the sidebar, in document order. */
function sidebarUnits(page) {
  return page.$$eval('.sidebar .worker-status .wk-unit', (els) => els.map((el) => ({
    worker: el.dataset.worker,
    icon: el.querySelector('i') ? el.querySelector('i').className : '',
    classes: el.className.split(/\s+/),
  })));
}

async function waitForSidebar(page) {
  await waitFor('six sidebar worker icons',
    async () => (await sidebarUnits(page)).length === 6, POLL_TIMEOUT_MS);
}

async function unitHasClass(page, worker, cls) {
  const units = await sidebarUnits(page);
  const unit = units.find((u) => u.worker === worker);
  return unit && unit.classes.includes(cls);
}

/* Waits until the tooltip of a hovered icon is fully shown. */
async function waitTipVisible(tip) {
  await waitFor('a visible tooltip', () => tip.evaluate((el) => {
    const s = getComputedStyle(el);
    return s.visibility === 'visible' && s.opacity === '1';
  }), 3000);
}

/* Clicks a settings switch and waits for the saved fragment to come back. */
async function toggleSwitch(page, key, wantChecked) {
  const fieldId = `field-${key.replace(/\./g, '-')}`;
  const input = page.locator(`#${fieldId} input[role="switch"]`);
  assert(await input.isChecked() !== wantChecked, `${key} already ${wantChecked}`);
  await input.click();
  await page.locator(`#${fieldId} .field-saved`).waitFor({ timeout: 5000 });
  assert(await page.locator(`#${fieldId} input[role="switch"]`).isChecked() === wantChecked,
    `${key} switch did not become ${wantChecked}`);
}

/* ------------------------------------------------------------ tests */

async function runChecks(page, base, check) {
  await check('dashboard loads with the layout shell', async () => {
    const resp = await page.goto(`${base}/`);
    assert(resp && resp.status() === 200, `GET / gave ${resp && resp.status()}`);
    assert(await page.locator('.sidebar .brand').innerText() === 'SoulSpot', 'no brand');
    const links = await page.$$eval('.sidebar .nav a', (as) => as.map((a) => a.getAttribute('href')));
    assert(JSON.stringify(links) === '["/","/downloads","/library/duplicates","/settings"]', `nav links ${links}`);
  });

  await check('sidebar shows six worker icons in contract order', async () => {
    await waitForSidebar(page);
    const units = await sidebarUnits(page);
    WORKERS.forEach(([worker, icon], i) => {
      assert(units[i].worker === worker, `icon ${i} is ${units[i].worker}, want ${worker}`);
      assert(units[i].icon === icon, `${worker} icon is "${units[i].icon}", want "${icon}"`);
    });
  });

  await check('worker icons show the default states', async () => {
    const units = await sidebarUnits(page);
    WORKERS.forEach(([worker, , cls], i) => {
      assert(units[i].classes.includes(cls), `${worker} has ${units[i].classes.join(' ')}, want ${cls}`);
    });
  });

  await check('hovering a worker icon shows its tooltip', async () => {
    const unit = page.locator('.wk-unit[data-worker="token_refresh"]');
    await unit.hover();
    const tip = unit.locator('.wk-tip');
    await waitTipVisible(tip);
    const text = await tip.innerText();
    assert(text.includes('Token Refresh'), `tooltip "${text}" lacks the name`);
    assert(text.includes('Bereit'), `tooltip "${text}" lacks the German status`);
    const box = await tip.boundingBox();
    const view = page.viewportSize();
    assert(box && box.x >= 0 && box.y >= 0 && box.x + box.width <= view.width &&
      box.y + box.height <= view.height, `tooltip outside the viewport: ${JSON.stringify(box)}`);
    await page.mouse.move(900, 300);
  });

  await check('dashboard table lists every worker unit', async () => {
    await waitFor('8 table rows',
      async () => (await page.locator('#workers-table tr[data-unit]').count()) === 8, 5000);
    const watchlist = page.locator('#workers-table tr[data-unit="automation.watchlist"] button');
    assert(await watchlist.isDisabled(), 'Run now of a disabled unit is enabled');
    const token = page.locator('#workers-table tr[data-unit="token_refresh"]');
    assert((await token.innerText()).includes('Bereit'), 'token_refresh row lacks "Bereit"');
  });

  await check('Run now starts a run and refreshes the table', async () => {
    const ran = page.waitForResponse((r) => r.request().method() === 'POST' &&
      r.url().endsWith('/api/workers/token_refresh/run'));
    const refreshed = page.waitForRequest((r) => r.url().endsWith('/workers/table'));
    await page.locator('#workers-table tr[data-unit="token_refresh"] button').click();
    const resp = await ran;
    assert(resp.status() >= 200 && resp.status() < 300, `run now gave ${resp.status()}`);
    await refreshed;
  });

  await check('/settings?tab=downloads opens the downloads tab', async () => {
    await page.goto(`${base}/settings?tab=downloads`);
    const current = page.locator('.tabs a[aria-current="page"]');
    assert(await current.count() === 1, 'not exactly one current tab');
    assert(await current.getAttribute('href') === '/settings?tab=downloads',
      `current tab is ${await current.getAttribute('href')}`);
    assert(await page.locator('#field-download-monitor_enabled').isVisible(), 'no monitor switch');
    assert(await page.locator('#field-spotify-client_id').count() === 0, 'spotify field on downloads tab');
  });

  await check('an unknown tab falls back to spotify', async () => {
    await page.goto(`${base}/settings?tab=nonsense`);
    const current = page.locator('.tabs a[aria-current="page"]');
    assert(await current.getAttribute('href') === '/settings?tab=spotify', 'spotify tab not current');
    const secret = page.locator('#field-spotify-client_secret input');
    assert(await secret.getAttribute('type') === 'password', 'client secret is not a password input');
    assert(await secret.inputValue() === '', 'client secret input is pre-filled');
  });

  await check('enabling cleanup turns its icon idle', async () => {
    await page.goto(`${base}/settings?tab=automation`);
    await waitForSidebar(page);
    assert(await unitHasClass(page, 'cleanup', 'wk-stopped'), 'cleanup not stopped before');
    await toggleSwitch(page, 'automation.cleanup_enabled', true);
    await waitFor('cleanup wk-idle', () => unitHasClass(page, 'cleanup', 'wk-idle'), POLL_TIMEOUT_MS);
  });

  await check('disabling the download monitor turns its icon stopped', async () => {
    await page.goto(`${base}/settings?tab=downloads`);
    await waitForSidebar(page);
    assert(await unitHasClass(page, 'download_monitor', 'wk-idle'), 'monitor not idle before');
    await toggleSwitch(page, 'download.monitor_enabled', false);
    await waitFor('download_monitor wk-stopped',
      () => unitHasClass(page, 'download_monitor', 'wk-stopped'), POLL_TIMEOUT_MS);
    await page.reload();
    assert(!(await page.locator('#field-download-monitor_enabled input').isChecked()),
      'the monitor switch is on again after a reload');
  });

  await check('an invalid value shows an error and keeps the stored one', async () => {
    await page.goto(`${base}/settings?tab=downloads`);
    const input = page.locator('#field-download-poll_interval_seconds input');
    await input.fill('1');
    await input.press('Enter');
    const err = page.locator('#field-download-poll_interval_seconds .field-error');
    await err.waitFor({ timeout: 5000 });
    assert(/2/.test(await err.innerText()), `error "${await err.innerText()}" names no bound`);
    await page.reload();
    assert(await input.inputValue() === '10', 'the stored interval changed');
  });

  await check('screenshot is saved', async () => {
    const file = path.join(BUILD, 'e2e', 'sidebar.png');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await page.goto(`${base}/`);
    await waitForSidebar(page);
    const unit = page.locator('.wk-unit[data-worker="cleanup"]');
    await unit.hover();
    await waitTipVisible(unit.locator('.wk-tip'));
    await page.screenshot({ path: file });
    assert(fs.statSync(file).size > 1000, 'screenshot is empty');
  });
}

/* ------------------------------------------------------------ main */

async function main() {
  let passed = 0;
  let failed = 0;
  const check = async (name, fn) => {
    try {
      await fn();
      passed++;
      console.log(`ok - ${name}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${name}: ${String(e.message).split('\n')[0]}`);
    }
  };

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soulspot-e2e-'));
  let daemon = null;
  let browser = null;
  try {
    daemon = await startDaemon(dir);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
        '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(10000);
    const problems = [];
    watchProblems(page, problems);
    await runChecks(page, daemon.base, check);
    await check('no console errors or failed requests on any page', async () => {
      assert(problems.length === 0, problems.join('; '));
    });
  } catch (e) {
    await check('setup', async () => { throw e; });
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopDaemon(daemon).catch(() => {});
    if (failed && daemon) console.log(`# daemon log: ${tail(daemon.log, 5)}`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.log(`not ok - harness: ${e.message}`);
  console.log('0 passed, 1 failed');
  process.exitCode = 1;
});
