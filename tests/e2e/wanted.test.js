/*
 * wanted.test.js - browser test of the /wanted page: the sidebar link, the
 * three tabs, rows with source, state, attempts, next try and reason, a
 * hostile name shown as text, and each button doing what it says:
 * Search now (a download request is made, the item is searching), Ignore
 * (it leaves Missing and appears under Ignored on the Given up tab), Retry
 * (back on Missing, attempts reset).
 *
 * Plain Node, no test runner:  node tests/e2e/wanted.test.js
 * The harness (daemon, browser, summary line) is tests/e2e/lib.js.
 */
'use strict';

const e2e = require('./lib');

const { assert, waitFor, apiJson } = e2e;

const EVIL = '<b>&"\'';

async function want(page, base, kind, artist, title) {
  const resp = await page.request.post(`${base}/api/wanted`, {
    data: { kind, artist, title },
  });
  assert(resp.status() === 201, `POST /api/wanted gave ${resp.status()}`);
  return (await resp.json()).id;
}

async function item(page, base, id) {
  return apiJson(page, `${base}/api/wanted/${id}`);
}

function row(page, id) {
  return page.locator(`#wanted-${id}`);
}

/* Clicks a row's button and waits for htmx's answer to its POST. */
async function press(page, id, action) {
  const answered = page.waitForResponse((r) => r.request().method() === 'POST' &&
    new URL(r.url()).pathname === `/wanted/${id}/${action}`);
  await row(page, id).locator(`button[data-action="${action}"]`).click();
  const resp = await answered;
  assert(resp.status() === 200, `${action} gave ${resp.status()}`);
}

e2e.run(async ({ page, base, check }) => {
  let album;
  let track;
  let evil;

  await check('items added by hand show on Missing', async () => {
    album = await want(page, base, 'album', 'Sigur Rós', 'Ágætis byrjun');
    track = await want(page, base, 'track', 'AC/DC', 'Thunderstruck');
    evil = await want(page, base, 'track', EVIL, `${EVIL} song`);
    await page.goto(`${base}/`);
    await page.locator('.sidebar .nav a[href="/wanted"]').click();
    await page.waitForURL(`${base}/wanted`);
    const current = await page.$$eval('.tabs a[aria-current="page"]',
      (as) => as.map((a) => a.textContent.trim()));
    assert(JSON.stringify(current) === '["Missing"]', `current tab ${current}`);
    for (const id of [album, track, evil]) {
      await row(page, id).waitFor();
    }
    const cells = await row(page, album).locator('td').allInnerTexts();
    assert(cells[0].includes('Sigur Rós') && cells[0].includes('Ágætis byrjun'),
      `release cell: ${cells[0]}`);
    assert(cells[1] === 'manual', `source: ${cells[1]}`);
    assert(cells[2].trim() === 'wanted', `state: ${cells[2]}`);
    assert(cells[3] === '0', `attempts: ${cells[3]}`);
    assert(cells[4] === 'jetzt', `next try: ${cells[4]}`);
    assert(cells[5] === 'waiting for its first search', `reason: ${cells[5]}`);
    /* the hostile name is text, not markup */
    const evilText = await row(page, evil).locator('td.msg').first().innerText();
    assert(evilText.includes(`${EVIL} song`), `evil row: ${evilText}`);
    assert(await page.locator('#wanted b').count() === 0, 'markup from a name');
  });

  await check('Search now makes a download request', async () => {
    await press(page, album, 'search');
    await page.locator('#wanted .msg-note', { hasText: 'Search started.' }).waitFor();
    const w = await item(page, base, album);
    assert(w.state === 'searching', `state ${w.state}`);
    assert(w.attempts === 1, `attempts ${w.attempts}`);
    assert(w.request_id > 0, 'no request id');
    const dl = await apiJson(page, `${base}/api/downloads/${w.request_id}`);
    assert(dl.kind === 'album' && dl.artist === 'Sigur Rós', `download ${dl.kind} ${dl.artist}`);
    const cells = await row(page, album).locator('td').allInnerTexts();
    assert(cells[2].trim() === 'searching', `state cell ${cells[2]}`);
    assert(cells[4] === 'läuft', `next try cell ${cells[4]}`);
    assert(await row(page, album).locator('button[data-action="search"]').count() === 0,
      'Search now still offered while searching');
  });

  await check('Ignore takes it off Missing', async () => {
    await press(page, track, 'ignore');
    await page.locator('#wanted .msg-note', { hasText: 'Ignored.' }).waitFor();
    await waitFor('the row to leave Missing', async () => (await row(page, track).count()) === 0, 5000);
    const w = await item(page, base, track);
    assert(w.state === 'ignored', `state ${w.state}`);
  });

  await check('Given up lists the ignored item; Retry brings it back', async () => {
    await page.locator('.tabs a', { hasText: 'Given up' }).click();
    await page.waitForURL(`${base}/wanted?tab=given_up`);
    await row(page, track).waitFor();
    const state = await row(page, track).locator('td').nth(2).innerText();
    assert(state.trim() === 'ignored', `state cell ${state}`);
    await press(page, track, 'retry');
    await page.locator('#wanted .msg-note', { hasText: 'Back on the list.' }).waitFor();
    await waitFor('the row to leave Given up', async () => (await row(page, track).count()) === 0, 5000);
    const w = await item(page, base, track);
    assert(w.state === 'wanted' && w.attempts === 0, `state ${w.state}, attempts ${w.attempts}`);
    await page.locator('.tabs a', { hasText: 'Missing' }).click();
    await row(page, track).waitFor();
  });

  await check('Upgrades tab is empty without upgrades', async () => {
    await page.locator('.tabs a', { hasText: 'Upgrades' }).click();
    await page.waitForURL(`${base}/wanted?tab=upgrades`);
    await page.locator('#wanted', { hasText: 'No quality upgrades are wanted.' }).waitFor();
    await e2e.assertNoSideScroll(page, '/wanted?tab=upgrades');
  });
});
