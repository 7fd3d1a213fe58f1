// Records `n` values in the browser, keeps the state in IndexedDB, uploads to the collector
// (another origin), and publishes what happened as JSON in #result and window.ldpResult.
import { Client, IndexedDbStore } from '/package/index.js';

const query = new URLSearchParams(location.search);
const collector = query.get('collector');
const campaign = query.get('campaign');
const n = Number(query.get('n'));

async function run() {
  let now = Math.floor(Date.now() / 1000);
  const store = new IndexedDbStore('ldp-page-test');
  const client = await Client.open({ collectorUrl: collector, store, now: () => now, releaseWindowSeconds: 1 });
  // A second client on the same store (another tab, say) is refused while this one is open.
  const second = await Client.open({ collectorUrl: collector, store: new IndexedDbStore('ldp-page-test') })
    .then(() => 'opened', (e) => e.name);
  for (let i = 0; i < n; i++) {
    await client.recordIndex(campaign, i % 4);
  }
  await client.flush();
  now += 121;
  const summary = await client.uploadPending();
  const spent = client.privacySpent(campaign);
  await client.close();
  // The state is in IndexedDB: a client opened afterwards sees the spent budget.
  const reopened = await Client.open({ collectorUrl: collector, store: new IndexedDbStore('ldp-page-test') });
  const reopenedSpent = reopened.privacySpent(campaign).lifetimeReports;
  await reopened.close();
  // The collector's analyst routes send no CORS headers: a page cannot read them.
  const analyst = await fetch(`${collector}/v1/campaigns/${campaign}/estimates`)
    .then((r) => `HTTP ${r.status}`, (e) => e.name);
  return { summary, lifetimeReports: spent.lifetimeReports, reopenedSpent, second, analyst };
}

run().then(
  (result) => { window.ldpResult = result; },
  (e) => { window.ldpResult = { error: `${e.name}: ${e.message}` }; },
).finally(() => {
  document.getElementById('result').textContent = JSON.stringify(window.ldpResult, null, 2);
});
