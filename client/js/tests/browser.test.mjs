// The built package in headless Chromium: a page served from one origin records values, keeps
// its state in IndexedDB and uploads them to the collector on another origin (so the
// collector's CORS answers are exercised for real); the collector counts them. Chromium and
// chromedriver come from scripts/install-chromium.sh.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { readFile, mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, dirname, normalize, extname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { startCollector } from './collector.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const roots = { '/package/': join(here, '../package/'), '/': join(here, 'page/') };
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
const chromium = process.env.LDP_CHROMIUM ?? '/usr/bin/chromium';
const chromedriver = process.env.LDP_CHROMEDRIVER ?? '/usr/bin/chromedriver';

let collector;
let pages;
let driver;
before(async () => {
  collector = await startCollector();
  pages = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://x').pathname);
    const prefix = Object.keys(roots).find((p) => path.startsWith(p));
    const file = normalize(join(roots[prefix], path.slice(prefix.length) || 'index.html'));
    if (!file.startsWith(roots[prefix])) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => pages.listen(0, '127.0.0.1', resolve));
});
after(() => {
  collector?.stop();
  pages?.close();
  driver?.kill();
});

/** One WebDriver command against chromedriver at `base`. */
async function webdriver(base, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body && JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) {
    throw new Error(`WebDriver ${method} ${path}: ${answer.value?.message ?? JSON.stringify(answer)}`);
  }
  return answer.value;
}

test('a page records values, keeps them in IndexedDB and uploads them across origins', async () => {
  for (const path of [chromium, chromedriver]) {
    assert.ok(existsSync(path), `${path} is missing (scripts/install-chromium.sh installs it)`);
  }
  const campaign = 'web-levels';
  const n = 200;
  await collector.createCampaign({
    id: campaign, mechanism: 'oue', epsilon: 1.0, domain: { range: { k: 4 } },
    epoch_seconds: 60, max_reports_per_epoch: 1000,
  });
  const port = 20000 + Math.floor(Math.random() * 20000);
  driver = spawn(chromedriver, [`--port=${port}`], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  for (let polls = 0; ; polls++) {
    try {
      await webdriver(base, 'GET', '/status');
      break;
    } catch (e) {
      assert.ok(polls < 600, `chromedriver did not start: ${e.message}`);
      await sleep(50);
    }
  }
  const profile = await mkdtemp(join(tmpdir(), 'ldp-chromium-'));
  const session = await webdriver(base, 'POST', '/session', {
    capabilities: { alwaysMatch: { browserName: 'chrome', 'goog:chromeOptions': {
      binary: chromium,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--no-first-run', `--user-data-dir=${profile}`],
    } } },
  });
  const s = `/session/${session.sessionId}`;
  try {
    const page = `http://127.0.0.1:${pages.address().port}/index.html?` +
      new URLSearchParams({ collector: collector.url, campaign, n: String(n) });
    await webdriver(base, 'POST', `${s}/url`, { url: page });
    let result = null;
    for (let polls = 0; result === null; polls++) {
      assert.ok(polls < 1200, 'the page did not finish');
      result = await webdriver(base, 'POST', `${s}/execute/sync`, { script: 'return window.ldpResult ?? null', args: [] });
      if (result === null) {
        await sleep(50);
      }
    }
    assert.equal(result.error, undefined, result.error);
    assert.equal(result.summary.reportsSent, n, JSON.stringify(result));
    assert.equal(result.summary.error, null);
    assert.equal(result.lifetimeReports, n);
    assert.equal(result.reopenedSpent, n);
    assert.equal(result.second, 'Storage');
    assert.equal(result.analyst, 'TypeError');
  } finally {
    await webdriver(base, 'DELETE', s).catch(() => {});
  }
  const estimates = await collector.estimates(campaign);
  assert.equal(estimates.n, n);
});
