/*
 * watch.test.js - browser test of the watch buttons on /library/artists
 * and the "download missing tracks" switch on /library/playlists, against
 * fake_services with a small generated Spotify library: log in, sync,
 * press Watch on an artist with a hostile name (shown as text, the watch
 * stored with that name, still watched after a reload), Unwatch (gone
 * from the watchlist), switch a playlist on (its missing tracks become
 * Wanted items after a watchlist run) and off again (kept after reload).
 *
 * Plain Node, no test runner:  node tests/e2e/watch.test.js
 * The harness (daemon, browser, fakes, summary line) is tests/e2e/lib.js.
 */
'use strict';

const e2e = require('./lib');

const { assert, waitFor, apiJson } = e2e;

const ARTIST = 'ar00000000000000000004'; /* "Künstler & <Band> "4"" */
const PLAYLIST = 'pl00000000000000000000';

async function unitOf(page, base, key) {
  const doc = await apiJson(page, `${base}/api/workers`);
  return doc.units.find((u) => u.key === key);
}

/* Clicks el and waits for htmx's answer to its POST to path. */
async function press(page, el, path) {
  const answered = page.waitForResponse((r) => r.request().method() === 'POST' &&
    new URL(r.url()).pathname === path);
  await el.click();
  const resp = await answered;
  assert(resp.status() === 200, `POST ${path} gave ${resp.status()}`);
}

e2e.run(async ({ page, base, check }) => {
  await check('log in to the fake Spotify and sync the library', async () => {
    const resp = await page.request.patch(`${base}/api/settings`, {
      data: {
        'spotify.client_id': 'test-client-id',
        'spotify.client_secret': 'test-client-secret',
        'spotify.redirect_uri': `${base}/auth/spotify/callback`,
        'automation.watchlist_enabled': true,
      },
    });
    assert(resp.status() === 200, `PATCH /api/settings gave ${resp.status()}`);
    await page.goto(`${base}/auth/spotify/login`);
    await page.waitForURL((u) => u.pathname === '/settings' && u.searchParams.has('spotify_login'));
    assert(new URL(page.url()).searchParams.get('spotify_login') === 'ok', `login: ${page.url()}`);
    await waitFor('the playlists to sync', async () => {
      const r = await page.request.get(`${base}/library/playlists`);
      return (await r.text()).includes(`dlm-${PLAYLIST}`);
    }, 30000);
  });

  await check('Watch on /library/artists watches the artist', async () => {
    await page.goto(`${base}/library/artists`);
    const cell = page.locator(`#watch-${ARTIST}`);
    await cell.waitFor();
    assert(await page.locator('button[data-action="watch"]').count() === 5,
      'not one Watch button per artist');
    const label = await cell.locator('button').getAttribute('aria-label');
    assert(label === 'Watch Künstler & <Band> "4"', `label ${label}`);
    await press(page, cell.locator('button[data-action="watch"]'),
      `/library/artists/${ARTIST}/watch`);
    await cell.locator('button[data-action="unwatch"]').waitFor();
    assert((await cell.innerText()).includes('watched'), 'no "watched" badge');
    assert(await page.locator('Band').count() === 0, 'markup from a name');
    const list = await apiJson(page, `${base}/api/watchlist`);
    assert(list.total === 1, `watches ${list.total}`);
    assert(list.items[0].spotify_artist_id === ARTIST, `id ${list.items[0].spotify_artist_id}`);
    assert(list.items[0].name === 'Künstler & <Band> "4"', `name ${list.items[0].name}`);
    assert(list.items[0].auto_download === true, 'auto download off');
    await page.reload();
    await page.locator(`#watch-${ARTIST} button[data-action="unwatch"]`).waitFor();
    await e2e.assertNoSideScroll(page, '/library/artists');
  });

  await check('Unwatch removes the watch', async () => {
    const cell = page.locator(`#watch-${ARTIST}`);
    await press(page, cell.locator('button[data-action="unwatch"]'),
      `/library/artists/${ARTIST}/unwatch`);
    await cell.locator('button[data-action="watch"]').waitFor();
    const list = await apiJson(page, `${base}/api/watchlist`);
    assert(list.total === 0, `watches ${list.total}`);
  });

  await check('the playlist switch wants its missing tracks', async () => {
    await page.goto(`${base}/library/playlists`);
    const sw = () => page.locator(`#dlm-${PLAYLIST} input[role="switch"]`);
    await sw().waitFor();
    assert(!(await sw().isChecked()), 'switch on before');
    await press(page, sw(), `/library/playlists/${PLAYLIST}/download-missing`);
    await waitFor('the switch to show on', async () => sw().isChecked(), 5000);
    await page.reload();
    assert(await sw().isChecked(), 'switch off after reload');
    const before = (await unitOf(page, base, 'automation.watchlist')).runs;
    const run = await page.request.post(`${base}/api/workers/automation.watchlist/run`);
    assert(run.status() === 202, `run now gave ${run.status()}`);
    await waitFor('a watchlist run', async () => {
      const u = await unitOf(page, base, 'automation.watchlist');
      return u.runs > before && u.state !== 'active' ? u : null;
    }, 30000);
    const wanted = await apiJson(page, `${base}/api/wanted?source=playlist`);
    assert(wanted.total >= 1, `playlist items ${wanted.total}`);
    assert(wanted.items.every((w) => w.kind === 'track' && w.auto_download),
      'playlist items not tracks with auto download');
    await page.goto(`${base}/wanted`);
    await page.locator('#wanted td', { hasText: 'playlist' }).first().waitFor();
  });

  await check('switching the playlist off is kept', async () => {
    await page.goto(`${base}/library/playlists`);
    const sw = () => page.locator(`#dlm-${PLAYLIST} input[role="switch"]`);
    await press(page, sw(), `/library/playlists/${PLAYLIST}/download-missing`);
    await waitFor('the switch to show off', async () => !(await sw().isChecked()), 5000);
    await page.reload();
    assert(!(await sw().isChecked()), 'switch on after reload');
    await e2e.assertNoSideScroll(page, '/library/playlists');
  });
}, { fakes: true, fakeArgs: ['--artists', '5', '--playlists', '2', '--entries', '8'] });
