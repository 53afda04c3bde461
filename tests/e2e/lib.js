/*
 * lib.js - shared harness of soulspotd's browser tests (tests/e2e/*.test.js).
 *
 * A test file is plain Node, no test runner:
 *
 *   const e2e = require('./lib');
 *   e2e.run(async ({ page, base, check }) => {
 *     await check('dashboard loads', async () => {
 *       const resp = await page.goto(`${base}/`);
 *       e2e.assert(resp.status() === 200, `GET / gave ${resp.status()}`);
 *     });
 *   });
 *
 * run() starts soulspotd on an ephemeral port with a temp data dir and a
 * config that points every external service at a closed local port
 * (nothing touches the internet), launches Debian's chromium through
 * playwright-core, hands the checks a page, adds a final check that no
 * page logged a console error or got a failed / >= 400 response (tests
 * that provoke one on purpose call allowProblem), prints "ok - NAME" /
 * "not ok - NAME: reason" per check and then "N passed, N failed", the
 * line scripts/run-tests.sh counts.  The daemon and the browser are
 * always stopped and the temp dir removed.  Waits are conditions with
 * deadlines (waitFor), never fixed sleeps.
 *
 * Environment:
 *   SOULSPOT_ROOT   repo root (node_modules with playwright-core); default ../..
 *   SOULSPOT_BUILD  build dir holding soulspotd; default ROOT/build
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
const STOP_TIMEOUT_MS = 5000;
/* The sidebar polls every 10 s. */
const POLL_TIMEOUT_MS = 15000;

/* Every external service on the discard port: refused at once. */
const BASE_CONFIG = [
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

/* Polls fn (sync or async) every 100 ms until it returns a truthy value,
 * which it returns; throws after timeoutMs with the last error seen. */
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

/* The last `lines` lines of a file joined by " | ", or "" if unreadable. */
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

/* ------------------------------------------------------------ daemon */

/*
 * Starts soulspotd in dir and waits for its port file.
 *   opts.config  INI text appended to BASE_CONFIG
 *   opts.base    INI text used instead of BASE_CONFIG (e.g. fakes.ini)
 *   opts.args    extra command-line arguments
 *   opts.env     extra environment variables
 * Returns { child, log, dir, port, base }.
 */
async function startDaemon(dir, opts = {}) {
  const cfg = path.join(dir, 'soulspotd.ini');
  const log = path.join(dir, 'soulspotd.log');
  const portFile = path.join(dir, 'soulspotd.port');
  fs.writeFileSync(cfg, (opts.base || BASE_CONFIG) + (opts.config || ''));
  const out = fs.openSync(log, 'w');
  const child = spawn(path.join(BUILD, 'soulspotd'),
    ['--listen', '127.0.0.1:0', '--data-dir', dir, '--config', cfg, ...(opts.args || [])],
    { stdio: ['ignore', out, out], env: { ...cleanEnv(), ...(opts.env || {}) } });
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
  return { child, log, dir, port, base: `http://127.0.0.1:${port}` };
}

/* SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; a no-op if already gone.
 * Stops anything with a .child: the daemon or the fakes. */
async function stopProcess(proc) {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode) return;
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  proc.child.kill('SIGTERM');
  const timer = new Promise((resolve) => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS));
  if (await Promise.race([exited, timer]) === 'timeout') {
    proc.child.kill('SIGKILL');
    await exited;
  }
}

/* ------------------------------------------------------------ fakes */

/*
 * Starts build/tests/fakes/fake_services (fake Spotify, slskd, MusicBrainz
 * and Cover Art Archive on ephemeral 127.0.0.1 ports; args: extra flags
 * such as ['--artists', '5']) and waits for the INI snippet it prints.
 * Returns { child, ini, slskdKey }.
 */
async function startFakes(args = []) {
  const slskdKey = 'fake-slskd-api-key-0123456789';
  const child = spawn(path.join(BUILD, 'tests', 'fakes', 'fake_services'),
    ['--slskd-key', slskdKey, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
  let out = '';
  let spawnError = null;
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  child.on('error', (e) => { spawnError = e; });
  const ini = await waitFor('the INI snippet of fake_services', () => {
    if (spawnError) throw new Error(`cannot start fake_services: ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`fake_services exited: ${out.trim()}`);
    const at = out.indexOf('; soulspotd.ini\n');
    return at >= 0 && /\[slskd\][^]*api_key = .*\n/.test(out) ? out.slice(at) : null;
  }, START_TIMEOUT_MS).catch((e) => {
    child.kill('SIGKILL');
    throw e;
  });
  return { child, ini, slskdKey };
}

/* ------------------------------------------------------------ browser */

function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/*
 * Records console errors, page errors and failed or >= 400 requests of
 * page into problems (an array), except those matching a RegExp of
 * allowed (an array the test may push to while running).
 */
function watchProblems(page, problems, allowed = []) {
  const add = (text) => {
    if (!allowed.some((re) => re.test(text))) problems.push(text);
  };
  page.on('console', (msg) => {
    if (msg.type() === 'error') add(`console error on ${page.url()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => add(`page error on ${page.url()}: ${err.message}`));
  page.on('requestfailed', (req) => {
    const why = req.failure() ? req.failure().errorText : 'unknown';
    /* A poll cut short by our own navigation is not a failure. */
    if (why.includes('ERR_ABORTED')) return;
    add(`request failed: ${req.method()} ${req.url()}: ${why}`);
  });
  page.on('response', (resp) => {
    if (resp.status() >= 400) {
      add(`HTTP ${resp.status()} for ${resp.request().method()} ${resp.url()}`);
    }
  });
}

/* GET url through the page's request context; asserts 2xx, returns JSON. */
async function apiJson(page, url) {
  const resp = await page.request.get(url);
  assert(resp.ok(), `GET ${url} gave ${resp.status()}`);
  return resp.json();
}

/* DOM id of a setting's row: "download.temp_path" -> "field-download-temp_path". */
function fieldId(key) {
  return `field-${key.replace(/\./g, '-')}`;
}

/* Asserts that the page is no wider than the window (no sideways scroll). */
async function assertNoSideScroll(page, what) {
  const g = await page.evaluate(() => ({
    doc: document.documentElement.scrollWidth,
    view: document.documentElement.clientWidth,
  }));
  assert(g.doc <= g.view, `${what}: the page is ${g.doc} px wide in a ${g.view} px window`);
}

/* Directory for screenshots and other artefacts: BUILD/e2e. */
function artefactDir() {
  const dir = path.join(BUILD, 'e2e');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/* ------------------------------------------------------------ harness */

/*
 * Runs one browser test file.  body({ page, base, check, daemon, fakes,
 * browser, dir, allowProblem }) performs its checks with check(name,
 * async fn).  opts is passed to startDaemon; with opts.fakes the daemon is
 * pointed at fake_services instead of closed ports (fakes is then
 * { child, ini, slskdKey }, else null; opts.fakeArgs are its extra flags).  Sets process.exitCode.
 */
async function run(body, opts = {}) {
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
  let fakes = null;
  let browser = null;
  try {
    if (opts.fakes) fakes = await startFakes(opts.fakeArgs);
    daemon = await startDaemon(dir, fakes ? { ...opts, base: fakes.ini } : opts);
    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(10000);
    const problems = [];
    const allowed = [];
    watchProblems(page, problems, allowed);
    await body({
      page, base: daemon.base, check, daemon, fakes, browser, dir,
      allowProblem: (re) => allowed.push(re),
    });
    await check('no console errors or failed requests on any page', async () => {
      assert(problems.length === 0, problems.join('; '));
    });
  } catch (e) {
    await check('setup', async () => { throw e; });
  } finally {
    if (browser) await browser.close().catch(() => {});
    await stopProcess(daemon).catch(() => {});
    await stopProcess(fakes).catch(() => {});
    if (failed && daemon) console.log(`# daemon log: ${tail(daemon.log, 5)}`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

/* Entry point wrapper: run() plus a summary line on a harness crash. */
function main(body, opts) {
  run(body, opts).catch((e) => {
    console.log(`not ok - harness: ${e.message}`);
    console.log('0 passed, 1 failed');
    process.exitCode = 1;
  });
}

module.exports = {
  ROOT, BUILD, POLL_TIMEOUT_MS, BASE_CONFIG,
  assert, delay, waitFor, tail, cleanEnv,
  startDaemon, stopProcess, stopDaemon: stopProcess, startFakes, launchBrowser,
  watchProblems, apiJson, fieldId, assertNoSideScroll, artefactDir,
  run: main,
};
