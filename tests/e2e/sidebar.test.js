/*
 * sidebar.test.js - browser test of soulspotd's pages and sidebar indicator.
 *
 * Plain Node, no test runner:  node tests/e2e/sidebar.test.js
 * The harness (daemon, browser, summary line) is tests/e2e/lib.js.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const e2e = require('./lib');

const { assert, waitFor, POLL_TIMEOUT_MS } = e2e;

const WORKERS = [
  ['token_refresh', 'bi bi-key', 'wk-idle'],
  ['spotify_sync', 'bi bi-spotify', 'wk-idle'],
  ['download_monitor', 'bi bi-download', 'wk-idle'],
  ['automation', 'bi bi-robot', 'wk-stopped'],
  ['cleanup', 'bi bi-trash3', 'wk-stopped'],
  ['duplicate_detector', 'bi bi-copy', 'wk-stopped'],
];

/* ------------------------------------------------------------ helpers */

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
  const fieldId = e2e.fieldId(key);
  const input = page.locator(`#${fieldId} input[role="switch"]`);
  assert(await input.isChecked() !== wantChecked, `${key} already ${wantChecked}`);
  await input.click();
  await page.locator(`#${fieldId} .field-saved`).waitFor({ timeout: 5000 });
  assert(await page.locator(`#${fieldId} input[role="switch"]`).isChecked() === wantChecked,
    `${key} switch did not become ${wantChecked}`);
}

/* ------------------------------------------------------------ tests */

async function runChecks({ page, base, check }) {
  await check('dashboard loads with the layout shell', async () => {
    const resp = await page.goto(`${base}/`);
    assert(resp && resp.status() === 200, `GET / gave ${resp && resp.status()}`);
    assert(await page.locator('.sidebar .brand').innerText() === 'SoulSpot', 'no brand');
    const links = await page.$$eval('.sidebar .nav a', (as) => as.map((a) => a.getAttribute('href')));
    assert(JSON.stringify(links) === '["/","/downloads","/wanted","/library/duplicates","/settings"]', `nav links ${links}`);
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
    const file = path.join(e2e.artefactDir(), 'sidebar.png');
    await page.goto(`${base}/`);
    await waitForSidebar(page);
    const unit = page.locator('.wk-unit[data-worker="cleanup"]');
    await unit.hover();
    await waitTipVisible(unit.locator('.wk-tip'));
    await page.screenshot({ path: file });
    assert(fs.statSync(file).size > 1000, 'screenshot is empty');
  });
}

e2e.run(runChecks);
