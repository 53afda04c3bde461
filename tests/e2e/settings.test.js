/*
 * settings.test.js - browser test of the settings page: layout of every
 * tab, and every control the page offers does what its label says.
 *
 * Plain Node, no test runner:  node tests/e2e/settings.test.js
 * The harness (daemon, browser, summary line) is tests/e2e/lib.js.
 */
'use strict';

const path = require('path');
const e2e = require('./lib');

const { assert, apiJson, fieldId } = e2e;

/* Tabs that must exist and be longer than the window; every tab the
 * page's tab bar lists is checked (settingsTabs). */
const LONG_TABS = ['spotify', 'downloads', 'automation'];
const WIDE = { width: 1280, height: 800 };
const NARROW = { width: 600, height: 900 };
/* Sub-pixel rounding of the layout engine. */
const EPS = 1;

/* ------------------------------------------------------------ layout */

/* The names of every tab the settings page's tab bar offers. */
async function settingsTabs(page, base) {
  await page.goto(`${base}/settings`);
  const hrefs = await page.$$eval('.tabs a', (as) => as.map((a) => a.getAttribute('href')));
  const tabs = hrefs.map((h) => new URL(h, base).searchParams.get('tab'));
  for (const t of LONG_TABS) assert(tabs.includes(t), `no ${t} tab in ${tabs}`);
  return tabs;
}

/*
 * The geometry of every labelled control of the tab panel (settings rows
 * and forms alike): the label's box, its control's box and kind, and the
 * box of the settings row holding them, if any.
 */
function rowGeometry(page) {
  return page.$$eval('.tab-panel label.field-label[for]', (labels) => labels.map((label) => {
    const box = (el) => {
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, w: r.width, h: r.height, right: r.right, bottom: r.bottom };
    };
    const control = document.getElementById(label.htmlFor);
    let kind = 'none';
    if (control) kind = control.tagName === 'INPUT' ? control.type : control.tagName.toLowerCase();
    return {
      id: label.htmlFor,
      row: box(label.closest('.field')),
      label: box(label),
      control: box(control),
      kind,
    };
  }));
}

/* Asserts that f(row) is the same for every row (within EPS). */
function assertSame(rows, what, f) {
  const first = rows[0];
  for (const r of rows) {
    assert(Math.abs(f(r) - f(first)) <= EPS,
      `${what}: ${r.id} has ${f(r).toFixed(1)}, ${first.id} has ${f(first).toFixed(1)}`);
  }
}

/* Text, path, URL, secret and choice inputs: the ones sized to their column. */
const WIDE_KINDS = ['text', 'password', 'select'];

async function checkRows(page, tab, stacked) {
  await e2e.assertNoSideScroll(page, `settings?tab=${tab}`);
  const rows = await rowGeometry(page);
  assert(rows.length >= (LONG_TABS.includes(tab) ? 5 : 1), `${tab}: only ${rows.length} labelled controls`);
  for (const r of rows) {
    assert(r.label && r.control, `${tab}: ${r.id} lacks a label or a control`);
    assert(r.label.w > 0 && r.control.w > 0, `${tab}: ${r.id} has an invisible label or control`);
    assert(!r.row || (r.control.y >= r.row.y - EPS && r.control.bottom <= r.row.bottom + EPS),
      `${tab}: the control of ${r.id} sticks out of its row`);
  }
  assertSame(rows, `${tab}: label x`, (r) => r.label.x);
  assertSame(rows, `${tab}: control x`, (r) => r.control.x);
  const wide = rows.filter((r) => WIDE_KINDS.includes(r.kind));
  assert(wide.length >= 1, `${tab}: no text inputs`);
  assertSame(wide, `${tab}: text input width`, (r) => r.control.w);
  for (const r of rows) {
    if (stacked) {
      assert(r.control.y >= r.label.bottom - EPS, `${tab}: ${r.id}: control not below its label`);
    } else {
      assert(r.control.x >= r.label.right - EPS, `${tab}: ${r.id}: control not right of its label`);
    }
  }
}

/* On a page longer than the window, the sidebar's box spans the whole
 * document at the top and at the bottom, and its worker indicator stays
 * in the window. */
async function checkSidebarSpans(page, tab) {
  for (const where of ['top', 'bottom']) {
    await page.evaluate((w) => window.scrollTo(0, w === 'top' ? 0 : document.documentElement.scrollHeight), where);
    const g = await page.evaluate(() => {
      const sb = document.querySelector('.sidebar').getBoundingClientRect();
      const ws = document.querySelector('.sidebar .worker-status').getBoundingClientRect();
      return {
        doc: document.documentElement.scrollHeight,
        view: window.innerHeight,
        y: window.scrollY,
        top: sb.top + window.scrollY,
        bottom: sb.bottom + window.scrollY,
        statusTop: ws.top,
        statusBottom: ws.bottom,
      };
    });
    assert(!LONG_TABS.includes(tab) || g.doc > 1.5 * g.view, `${tab}: page too short to test (${g.doc} px)`);
    assert(g.top <= EPS && g.bottom >= g.doc - EPS,
      `${tab}, scrolled to the ${where}: sidebar covers ${g.top.toFixed(0)}..${g.bottom.toFixed(0)} ` +
      `of a ${g.doc} px page`);
    assert(g.statusTop >= 0 && g.statusBottom <= g.view + EPS,
      `${tab}, scrolled to the ${where}: worker indicator at ${g.statusTop.toFixed(0)}..` +
      `${g.statusBottom.toFixed(0)}, outside the ${g.view} px window`);
  }
}

async function layoutChecks({ page, base, check }, tabs) {
  for (const tab of tabs) {
    await check(`${tab} tab: every row places label and input alike (wide)`, async () => {
      await page.setViewportSize(WIDE);
      await page.goto(`${base}/settings?tab=${tab}`);
      await checkRows(page, tab, false);
    });
    await check(`${tab} tab: the sidebar reaches the bottom of the page`, async () => {
      await page.setViewportSize(WIDE);
      await page.goto(`${base}/settings?tab=${tab}`);
      await page.locator('.sidebar .wk-unit').first().waitFor();
      await checkSidebarSpans(page, tab);
    });
    await check(`${tab} tab: every row places label and input alike (narrow)`, async () => {
      await page.setViewportSize(NARROW);
      await page.goto(`${base}/settings?tab=${tab}`);
      await checkRows(page, tab, true);
    });
  }
  await page.setViewportSize(WIDE);
  await check('screenshots of every tab are saved', async () => {
    for (const tab of tabs) {
      await page.goto(`${base}/settings?tab=${tab}`);
      await page.locator('.sidebar .wk-unit').first().waitFor();
      await page.screenshot({ path: path.join(e2e.artefactDir(), `settings-${tab}.png`), fullPage: true });
    }
  });
}

/* ------------------------------------------------------------ controls */

/* Settings switches that turn a worker unit on and off (GET /api/workers). */
const UNIT_OF_SWITCH = {
  'spotify.token_refresh_enabled': 'token_refresh',
  'spotify.auto_sync_enabled': 'spotify_sync',
  'download.monitor_enabled': 'download_monitor',
  'automation.watchlist_enabled': 'automation.watchlist',
  'automation.discography_enabled': 'automation.discography',
  'automation.quality_upgrade_enabled': 'automation.quality_upgrade',
  'automation.cleanup_enabled': 'cleanup',
  'automation.duplicate_detection_enabled': 'duplicate_detector',
};

async function storedSetting(page, base, key) {
  return (await apiJson(page, `${base}/api/settings`)).settings[key];
}

async function unitOf(page, base, key) {
  const { units } = await apiJson(page, `${base}/api/workers`);
  return units.find((u) => u.key === key);
}

/* Types text into a settings input, presses Enter and waits for "Saved". */
async function saveText(page, key, text) {
  const input = page.locator(`#${fieldId(key)} input`);
  await input.fill(text);
  await input.press('Enter');
  await page.locator(`#${fieldId(key)} .field-saved`).waitFor({ timeout: 5000 });
}

/* Clicks a switch and checks: "Saved" shows, the stored value flips, a
 * reload shows the new state and, for a worker switch, the unit follows. */
async function flipSwitch(page, base, key) {
  const sel = `#${fieldId(key)} input[role="switch"]`;
  const before = await page.locator(sel).isChecked();
  assert(await storedSetting(page, base, key) === before, `${key}: switch and stored value differ`);
  await page.locator(sel).click();
  await page.locator(`#${fieldId(key)} .field-saved`).waitFor({ timeout: 5000 });
  assert(await page.locator(sel).isChecked() === !before, `${key}: the switch did not flip`);
  assert(await storedSetting(page, base, key) === !before, `${key}: the stored value did not flip`);
  const unit = UNIT_OF_SWITCH[key];
  if (unit) {
    await e2e.waitFor(`${unit} enabled=${!before}`, async () => {
      const u = await unitOf(page, base, unit);
      return u.enabled === !before && (u.state === 'stopped') === before;
    }, 5000);
  }
  await page.reload();
  assert(await page.locator(sel).isChecked() === !before, `${key}: not ${!before} after a reload`);
}

async function controlChecks({ page, base, check, fakes }, tabs) {
  await check('each tab link opens the tab it names', async () => {
    await page.goto(`${base}/settings`);
    for (const tab of tabs) {
      await page.locator(`.tabs a[href="/settings?tab=${tab}"]`).click();
      await page.waitForURL(`${base}/settings?tab=${tab}`);
      const current = page.locator('.tabs a[aria-current="page"]');
      assert(await current.count() === 1, `${tab}: not exactly one current tab`);
      assert(await current.getAttribute('href') === `/settings?tab=${tab}`, `${tab}: wrong tab current`);
      assert(await page.locator('.tab-panel').getAttribute('data-tab') === tab, `${tab}: wrong panel`);
    }
  });

  for (const tab of tabs) {
    await page.goto(`${base}/settings?tab=${tab}`);
    const keys = await page.$$eval('.tab-panel input[role="switch"]',
      (els) => els.map((el) => el.closest('.field').querySelector('.field-key').textContent));
    if (!LONG_TABS.includes(tab) && keys.length === 0) continue;
    await check(`${tab} tab: every switch saves, persists and takes effect (both ways)`, async () => {
      await page.goto(`${base}/settings?tab=${tab}`);
      assert(keys.length >= 1, `${tab}: no switches`);
      for (const key of keys) {
        await flipSwitch(page, base, key); /* and back: */
        await flipSwitch(page, base, key);
      }
    });
  }

  await check('a text setting saves names as typed, escaped (NFC and NFD)', async () => {
    await page.goto(`${base}/settings?tab=automation`);
    for (const text of ['Björk <b>&"\' fan, Sigur Rós', 'Bjo\u0308rk, 坂本龍一 & AC/DC']) {
      await saveText(page, 'musicbrainz.contact', text);
      assert(await storedSetting(page, base, 'musicbrainz.contact') === text, `"${text}" not stored as typed`);
      await page.reload();
      const shown = await page.locator(`#${fieldId('musicbrainz.contact')} input`).inputValue();
      assert(shown === text, `shows "${shown}", want "${text}"`);
    }
    await saveText(page, 'musicbrainz.contact', '');
  });

  await check('a number saves and takes effect at once', async () => {
    await page.goto(`${base}/settings?tab=downloads`);
    await saveText(page, 'download.poll_interval_seconds', '7');
    assert(await storedSetting(page, base, 'download.poll_interval_seconds') === 7, 'not stored');
    await e2e.waitFor('the monitor polling every 7 s',
      async () => (await unitOf(page, base, 'download_monitor')).interval_seconds === 7, 5000);
    await saveText(page, 'download.poll_interval_seconds', '10');
  });

  await check('every choice list saves the chosen value', async () => {
    for (const tab of tabs) {
      await page.goto(`${base}/settings?tab=${tab}`);
      const keys = await page.$$eval('.tab-panel .field select',
        (els) => els.map((el) => el.closest('.field').querySelector('.field-key').textContent));
      for (const key of keys) {
        const sel = `#${fieldId(key)} select`;
        const was = await page.locator(sel).inputValue();
        const choices = await page.$$eval(`${sel} option`, (os) => os.map((o) => o.value));
        assert(choices.length >= 2, `${key}: ${choices.length} choices`);
        for (const choice of [choices.find((c) => c !== was), was]) {
          await page.locator(sel).selectOption(choice);
          await page.locator(`#${fieldId(key)} .field-saved`).waitFor({ timeout: 5000 });
          assert(await storedSetting(page, base, key) === choice, `${key}: ${choice} not stored`);
          await page.reload();
          assert(await page.locator(sel).inputValue() === choice, `${key}: ${choice} not shown after a reload`);
        }
      }
    }
  });

  await check('Test connection reports the slskd version, and a wrong key', async () => {
    await page.goto(`${base}/settings?tab=downloads`);
    const result = page.locator('#slskd-test');
    const button = page.locator('#field-slskd-test button');
    await button.click();
    await e2e.waitFor('a test result', async () => (await result.innerText()).trim() !== '', 10000);
    let text = await result.innerText();
    assert(/slskd 0\.26\.0 answered/.test(text) && text.includes('logged in'), `result "${text}"`);
    await saveText(page, 'slskd.api_key', 'wrong-key-Guns-N-Roses');
    await page.locator('#field-slskd-test button').click();
    await e2e.waitFor('a failed test result', async () => {
      const t = (await result.innerText()).trim();
      return t !== '' && !t.includes('answered') ? t : null;
    }, 10000);
    text = await result.innerText();
    assert(await result.locator('.msg-error').count() === 1, `a wrong key is not an error: "${text}"`);
    await saveText(page, 'slskd.api_key', fakes.slskdKey);
  });

  await check('Regenerate API key shows a new key', async () => {
    await page.goto(`${base}/settings?tab=security`);
    const key = page.locator('#api-key');
    const old = (await key.innerText()).trim();
    assert(/^[0-9a-f]{16,}$/.test(old), `key "${old}"`);
    await page.locator('#regenerate-key').click();
    await page.waitForURL((u) => u.pathname === '/settings' && u.searchParams.get('tab') === 'security' &&
      u.searchParams.has('security'));
    const now = (await key.innerText()).trim();
    assert(/^[0-9a-f]{16,}$/.test(now) && now !== old, `key "${old}" became "${now}"`);
  });

  await check('Connect logs in to Spotify, Sync now syncs, Disconnect forgets', async () => {
    await page.goto(`${base}/settings?tab=spotify`);
    assert(await page.locator('#spotify-connect').count() === 0, 'Connect offered without a client id');
    await saveText(page, 'spotify.client_id', 'test-client-id');
    await saveText(page, 'spotify.redirect_uri', `${base}/auth/spotify/callback`);
    await page.reload();
    await page.locator('#spotify-connect').click();
    await page.waitForURL((u) => u.pathname === '/settings' && u.searchParams.has('spotify_login'));
    const state = page.locator('#spotify-account-state');
    assert(await state.getAttribute('data-connected') === 'true', `not connected: ${await state.innerText()}`);
    const t0 = (await unitOf(page, base, 'spotify_sync')).last_run_ms || 0;
    const ran = page.waitForResponse((r) => r.url().endsWith('/api/spotify/sync'));
    await page.locator('#spotify-account button', { hasText: 'Sync now' }).click();
    const resp = await ran;
    assert(resp.status() === 202, `Sync now gave ${resp.status()}`);
    await e2e.waitFor('a Spotify Sync run after Sync now',
      async () => ((await unitOf(page, base, 'spotify_sync')).last_run_ms || 0) > t0, 10000);
    await page.locator('#spotify-disconnect').click();
    await page.waitForURL((u) => u.pathname === '/settings');
    assert(await state.getAttribute('data-connected') === 'false', 'still connected after Disconnect');
    assert(await page.locator('#spotify-disconnect').count() === 0, 'Disconnect still offered');
  });
}

/* ------------------------------------------------------------ main */

e2e.run(async (ctx) => {
  const tabs = await settingsTabs(ctx.page, ctx.base);
  await layoutChecks(ctx, tabs);
  await controlChecks(ctx, tabs);
}, { fakes: true });
