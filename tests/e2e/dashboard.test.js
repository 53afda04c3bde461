/*
 * dashboard.test.js - browser test of the dashboard and the layout shell:
 * every Run now button runs its unit, every sidebar link and worker icon
 * opens what it names, no page scrolls sideways.
 *
 * Plain Node, no test runner:  node tests/e2e/dashboard.test.js
 * The harness (daemon, browser, summary line) is tests/e2e/lib.js.
 */
'use strict';

const e2e = require('./lib');

const { assert, waitFor, apiJson } = e2e;

const NAV = [
  ['/', 'Dashboard'],
  ['/downloads', 'Downloads'],
  ['/wanted', 'Wanted'],
  ['/library/duplicates', 'Library'],
  ['/settings', 'Settings'],
];

/* The settings that switch the units that are off by default. */
const OFF_BY_DEFAULT = {
  'automation.watchlist_enabled': true,
  'automation.discography_enabled': true,
  'automation.quality_upgrade_enabled': true,
  'automation.cleanup_enabled': true,
  'automation.duplicate_detection_enabled': true,
};

async function units(page, base) {
  return (await apiJson(page, `${base}/api/workers`)).units;
}

/* Each row's unit key, button state and accessible button name. */
function tableRows(page) {
  return page.$$eval('#workers-table tr[data-unit]', (rows) => rows.map((tr) => {
    const b = tr.querySelector('button');
    return {
      unit: tr.dataset.unit,
      label: tr.querySelector('th').textContent.trim(),
      disabled: b ? b.disabled : null,
      name: b ? b.textContent.replace(/\s+/g, ' ').trim() : '',
    };
  }));
}

async function waitForTable(page, n) {
  await waitFor(`${n} table rows`,
    async () => (await page.locator('#workers-table tr[data-unit]').count()) === n, 5000);
}

/* Clicks Run now of one unit; checks the POST's answer, the table's
 * refresh and that the unit then records a run started after the click
 * (or, when the click found a run going, that this run ends). */
async function runNow(page, base, unit) {
  const before = (await units(page, base)).find((x) => x.key === unit);
  const t0 = Date.now();
  const ran = page.waitForResponse((r) => r.request().method() === 'POST' &&
    r.url().endsWith(`/api/workers/${unit}/run`));
  const refreshed = page.waitForResponse((r) => r.url().endsWith('/workers/table'));
  await page.locator(`#workers-table tr[data-unit="${unit}"] button`).click();
  const resp = await ran;
  assert(resp.status() === 202, `Run now of ${unit} gave ${resp.status()}`);
  const answer = await resp.json();
  assert(answer.worker === unit && (answer.queued || answer.already_running),
    `Run now of ${unit} answered ${JSON.stringify(answer)}`);
  await refreshed;
  await waitFor(`a run of ${unit} after the click`, async () => {
    const u = (await units(page, base)).find((x) => x.key === unit);
    if (answer.already_running) return u.runs > before.runs;
    return u.last_run_ms !== null && u.last_run_ms >= t0;
  }, 10000);
}

async function checks({ page, base, check }) {
  await check('the dashboard does not scroll sideways (wide and narrow)', async () => {
    for (const size of [{ width: 1280, height: 800 }, { width: 600, height: 900 }]) {
      await page.setViewportSize(size);
      await page.goto(`${base}/`);
      await waitForTable(page, 8);
      await page.locator('.sidebar .wk-unit').first().waitFor();
      await e2e.assertNoSideScroll(page, `dashboard at ${size.width} px`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await check('a Run now button per unit, off exactly for disabled units', async () => {
    await page.goto(`${base}/`);
    await waitForTable(page, 8);
    const rows = await tableRows(page);
    const list = await units(page, base);
    assert(rows.length === list.length, `${rows.length} rows for ${list.length} units`);
    for (const u of list) {
      const row = rows.find((r) => r.unit === u.key);
      assert(row, `no row for ${u.key}`);
      assert(row.label === u.label, `${u.key} row says "${row.label}"`);
      assert(row.name === `Run now ${u.label}`, `${u.key} button is named "${row.name}"`);
      assert(row.disabled === !u.enabled, `${u.key}: button disabled=${row.disabled}, unit enabled=${u.enabled}`);
    }
  });

  await check('Run now of a disabled unit is refused (409) and changes nothing', async () => {
    const resp = await page.request.post(`${base}/api/workers/cleanup/run`);
    assert(resp.status() === 409, `gave ${resp.status()}`);
    const u = (await units(page, base)).find((x) => x.key === 'cleanup');
    assert(u.runs === 0 && u.last_run_ms === null, `cleanup ran: ${JSON.stringify(u)}`);
  });

  await check('every Run now button runs its unit', async () => {
    const resp = await page.request.patch(`${base}/api/settings`, { data: OFF_BY_DEFAULT });
    assert(resp.ok(), `enabling every unit gave ${resp.status()}`);
    await page.goto(`${base}/`);
    await waitForTable(page, 8);
    const rows = await tableRows(page);
    for (const r of rows) {
      assert(r.disabled === false, `${r.unit} still disabled after enabling it`);
      await runNow(page, base, r.unit);
    }
  });

  await check('each sidebar link opens its page and marks it current', async () => {
    await page.goto(`${base}/settings`);
    for (const [href, text] of NAV) {
      const link = page.locator(`.sidebar .nav a[href="${href}"]`);
      assert((await link.innerText()).trim() === text, `link ${href} says "${await link.innerText()}"`);
      const nav = page.waitForResponse((r) => new URL(r.url()).pathname === href &&
        r.request().resourceType() === 'document');
      await link.click();
      const resp = await nav;
      assert(resp.status() === 200, `${href} gave ${resp.status()}`);
      const current = await page.$$eval('.sidebar .nav a[aria-current="page"]',
        (as) => as.map((a) => a.getAttribute('href')));
      assert(JSON.stringify(current) === JSON.stringify([href]), `on ${href} current is ${current}`);
    }
  });

  await check('each sidebar worker icon opens the settings tab of its worker', async () => {
    const { workers } = await apiJson(page, `${base}/api/workers/status`);
    await page.goto(`${base}/`);
    await page.locator('.sidebar .wk-unit').first().waitFor();
    const keys = await page.$$eval('.sidebar .wk-unit', (els) => els.map((el) => el.dataset.worker));
    assert(keys.length === Object.keys(workers).length, `${keys.length} icons`);
    for (const key of keys) {
      const want = workers[key].settings_url;
      const tab = new URL(want, base).searchParams.get('tab');
      await page.goto(`${base}/`);
      await page.locator(`.sidebar .wk-unit[data-worker="${key}"]`).click();
      await page.waitForURL(`${base}${want}`);
      const current = page.locator('.tabs a[aria-current="page"]');
      assert(await current.getAttribute('href') === `/settings?tab=${tab}`, `${key}: wrong tab current`);
    }
  });
}

e2e.run(checks);
