// The built package in Node against the real collector: estimates of 20,000 recorded values
// within 5 standard errors, reports byte-identical to the Rust test vectors, and the device's
// state surviving a restart through the file store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

import { Client, MemoryStore, SimulationEncoder, load } from '../package/index.js';
import { FileStore } from '../package/node.js';
import { startCollector } from './collector.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const testdata = join(here, '../../../protocol/testdata');

let collector;
before(async () => {
  collector = await startCollector();
});
after(() => collector?.stop());

/** A clock the test moves: seconds since the Unix epoch. */
function clock() {
  let now = Math.floor(Date.now() / 1000);
  return { now: () => now, advance: (s) => { now += s; } };
}

/** A reproducible generator (mulberry32), for the population only. */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('every report vector is reproduced byte for byte', async () => {
  await load();
  const files = readdirSync(testdata).filter((f) => /^report_.*\.json$/.test(f));
  assert.ok(files.length >= 10, `only ${files.length} vectors`);
  for (const file of files) {
    const vector = JSON.parse(readFileSync(join(testdata, file), 'utf8'));
    const encoder = new SimulationEncoder(JSON.stringify(vector.config), vector.rng_seed_hex);
    const bytes = encoder.encode(vector.input);
    encoder.free();
    assert.equal(Buffer.from(bytes).toString('hex'), vector.report_hex, file);
  }
});

const mechanisms = { oue: 'oue', olh: { olh: { g: null, seed_pool: null } } };
for (const [name, mechanism] of Object.entries(mechanisms)) {
  test(`20,000 ${name} values are estimated within five standard errors`, async () => {
    const K = 16;
    const DEVICES = 20;
    const PER_DEVICE = 1000;
    const id = `js-${name}`;
    await collector.createCampaign({
      id, mechanism, epsilon: 2.0, domain: { range: { k: K } },
      epoch_seconds: 60, max_reports_per_epoch: PER_DEVICE,
    });
    const time = clock();
    const clients = [];
    for (let d = 0; d < DEVICES; d++) {
      clients.push(await Client.open({
        collectorUrl: collector.url, store: new MemoryStore(), now: time.now, releaseWindowSeconds: 1,
      }));
    }
    // A fixed, skewed truth: value i is chosen with weight K − i.
    const random = generator(20261207);
    const weights = Array.from({ length: K }, (_, i) => K - i);
    const total = weights.reduce((a, b) => a + b);
    const truth = new Array(K).fill(0);
    for (const client of clients) {
      for (let r = 0; r < PER_DEVICE; r++) {
        let u = random() * total;
        let value = 0;
        while (u >= weights[value]) {
          u -= weights[value];
          value += 1;
        }
        await client.recordIndex(id, value);
        truth[value] += 1;
      }
      await assert.rejects(client.recordIndex(id, 0), { name: 'BudgetExhausted' });
    }
    assert.equal(clients.reduce((n, c) => n + c.privacySpent(id).lifetimeReports, 0), DEVICES * PER_DEVICE);

    // Nothing is due before the epoch ends; afterwards every batch goes.
    assert.equal((await clients[0].uploadPending()).batchesSent, 0);
    time.advance(121);
    let sent = 0;
    for (const client of clients) {
      const summary = await client.uploadPending();
      assert.equal(summary.error, null);
      assert.equal(summary.reportsWaiting, 0);
      sent += summary.reportsSent;
      await client.close();
    }
    assert.equal(sent, DEVICES * PER_DEVICE);

    const estimates = await collector.estimates(id);
    assert.equal(estimates.n, DEVICES * PER_DEVICE);
    for (const row of estimates.values) {
      const error = Math.abs(row.count - truth[row.index]);
      assert.ok(error <= 5 * row.std_error, `${JSON.stringify(row)} truth ${truth[row.index]}`);
    }
  });
}

test('the file store keeps the ledger and the outbox across a restart', async () => {
  const id = 'js-restart';
  await collector.createCampaign({
    id, mechanism: 'grr', epsilon: 1.0, domain: { range: { k: 4 } },
    epoch_seconds: 60, max_reports_per_epoch: 2,
  });
  const path = join(mkdtempSync(join(tmpdir(), 'ldp-js-state-')), 'state');
  const time = clock();
  const options = { collectorUrl: collector.url, now: time.now, releaseWindowSeconds: 1 };
  let client = await Client.open({ ...options, store: new FileStore(path) });
  await client.record(id, '1');
  await client.recordIndex(id, 2);
  await client.close();
  await assert.rejects(client.record(id, '1'), { name: 'InvalidArgument' });

  // A new process: the spent budget and the waiting reports are still there.
  client = await Client.open({ ...options, store: new FileStore(path) });
  await assert.rejects(client.recordIndex(id, 3), { name: 'BudgetExhausted' });
  const spent = client.privacySpent(id);
  assert.equal(spent.lifetimeReports, 2);
  // Each report spends its effective ε, at most the configured 1.0.
  assert.ok(spent.lifetimeEpsilon > 1.99 && spent.lifetimeEpsilon <= 2.000001, String(spent.lifetimeEpsilon));
  await assert.rejects(client.recordIndex(id, 9), { name: 'BudgetExhausted' });
  time.advance(121);
  const summary = await client.uploadPending();
  assert.equal(summary.reportsSent, 2);
  assert.equal(client.counter('acknowledged_reports'), 2);
  await client.close();
});

test('typed errors: unknown campaigns, values outside the domain, a bad URL', async () => {
  await collector.createCampaign({
    id: 'js-errors', mechanism: 'grr', epsilon: 1.0, domain: { range: { k: 4 } },
  });
  await assert.rejects(Client.open({ collectorUrl: 'ftp://x' }), { name: 'InvalidArgument' });
  const asked = [];
  const time = clock();
  const client = await Client.open({
    collectorUrl: collector.url,
    now: time.now,
    fetch: (url, init) => {
      asked.push(url);
      return fetch(url, init);
    },
  });
  // An unknown campaign is asked about once, then again after ten minutes.
  for (let i = 0; i < 3; i++) {
    await assert.rejects(client.record('no-such-campaign', 'x'), { name: 'UnknownCampaign' });
  }
  assert.equal(asked.length, 1);
  time.advance(600);
  await assert.rejects(client.record('no-such-campaign', 'x'), { name: 'UnknownCampaign' });
  assert.equal(asked.length, 2);
  await assert.rejects(client.recordIndex('js-errors', 4), { name: 'InvalidValue' });
  await assert.rejects(client.record('js-errors', {}), { name: 'InvalidValue' });
  assert.equal(client.privacySpent('js-errors').lifetimeReports, 0);
  // Uploads off: records are ignored and nothing is charged.
  await client.setUploadEnabled(false);
  await client.recordIndex('js-errors', 1);
  assert.equal(client.privacySpent('js-errors').lifetimeReports, 0);
  await client.close();
});
