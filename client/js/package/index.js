// The ldp-telemetry device SDK for web pages and Node. The WebAssembly core (pkg/, built from
// the ldp-js crate by scripts/build-wasm.sh) keeps the state and applies the rules; this file
// does the I/O: it fetches campaign configurations, sends batches with `fetch`, and saves the
// core's snapshot into a store. See README.md.
import init, { Core, SimulationEncoder, benchmarkEncode, initSync } from './pkg/ldp_js.js';

export { SimulationEncoder, benchmarkEncode };

/**
 * How long the collector's "unknown campaign" stands before it is asked again, in seconds: a
 * page recording a campaign that does not exist yet costs one request per ten minutes.
 */
export const UNKNOWN_CAMPAIGN_SECONDS = 600;

/** Media type of a batch upload. */
export const BATCH_CONTENT_TYPE = 'application/x-ldp-batch';

let loading = null;

/** Loads and instantiates the WebAssembly module once (done by `Client.open`). */
export function load() {
  if (!loading) {
    loading = (async () => {
      const url = new URL('./pkg/ldp_js_bg.wasm', import.meta.url);
      if (url.protocol === 'file:' && typeof process !== 'undefined' && process.versions?.node) {
        const { readFile } = await import('node:fs/promises');
        initSync({ module: await readFile(url) });
      } else {
        await init({ module_or_path: url });
      }
    })();
  }
  return loading;
}

/** An error of the SDK: `name` tells the kind (`BudgetExhausted`, `UnknownCampaign`, …). */
function sdkError(name, message) {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** Keeps the state in memory only: for tests, and for pages that must not persist anything. */
export class MemoryStore {
  #bytes = null;

  async load() {
    return this.#bytes && this.#bytes.slice();
  }

  async save(bytes) {
    this.#bytes = bytes.slice();
  }
}

/**
 * Keeps the state in the browser's IndexedDB (one record in database `name`). Saves complete
 * only once the browser reports the transaction durable. One client per store: `Client.open`
 * takes a Web Lock named after it, so a second tab opening the same store is refused.
 */
export class IndexedDbStore {
  #name;
  #db = null;

  constructor(name = 'ldp-telemetry') {
    this.#name = name;
  }

  /** The Web Lock that makes this store single-writer. */
  get lockName() {
    return `ldp-telemetry:${this.#name}`;
  }

  #open() {
    if (!this.#db) {
      this.#db = new Promise((resolve, reject) => {
        const request = indexedDB.open(this.#name, 1);
        request.onupgradeneeded = () => request.result.createObjectStore('state');
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    }
    return this.#db;
  }

  async load() {
    const db = await this.#open();
    return new Promise((resolve, reject) => {
      const request = db.transaction('state', 'readonly').objectStore('state').get('snapshot');
      request.onsuccess = () => resolve(request.result ? new Uint8Array(request.result) : null);
      request.onerror = () => reject(request.error);
    });
  }

  async save(bytes) {
    const db = await this.#open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction('state', 'readwrite', { durability: 'strict' });
      tx.objectStore('state').put(bytes.slice().buffer, 'snapshot');
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }
}

/**
 * The device SDK: records values under the campaigns' privacy budgets, keeps the reports in a
 * durable outbox, and releases each epoch's batch at a random moment after the epoch ends.
 *
 * `record` works in memory and schedules a save of the state; `flush` waits for it (call it
 * when the page is hidden). `uploadPending` saves the state before anything leaves.
 */
export class Client {
  #core;
  #store;
  #url;
  #fetch;
  #now;
  #saving = Promise.resolve();
  #dirty = false;
  #scheduled = false;
  #failure = null;
  #fetching = new Map();
  #unknown = new Map();
  #release = null;

  constructor(key, core, store, url, fetcher, now, release) {
    if (key !== OPEN) {
      throw sdkError('InvalidArgument', 'use Client.open(options)');
    }
    this.#core = core;
    this.#store = store;
    this.#url = url;
    this.#fetch = fetcher;
    this.#now = now;
    this.#release = release;
  }

  /**
   * Opens the client whose state lives in `store` (default: memory only), sending to
   * `collectorUrl`. Other options: `fetch` (default: the global one), `now` (seconds since the
   * Unix epoch; default: the system clock), and the tunables `releaseWindowSeconds`,
   * `maxOutboxBatches`, `maxOutboxBytes`, `maxBatchReports`, `retryBaseSeconds`,
   * `retryMaxSeconds`.
   */
  static async open(options = {}) {
    const {
      collectorUrl,
      store = new MemoryStore(),
      fetch: fetcher = globalThis.fetch?.bind(globalThis),
      now = () => Date.now() / 1000,
      ...tunables
    } = options;
    if (typeof collectorUrl !== 'string' || !/^https?:\/\//.test(collectorUrl)) {
      throw sdkError('InvalidArgument', `collectorUrl ${JSON.stringify(collectorUrl)} is not an http(s) URL`);
    }
    if (typeof fetcher !== 'function') {
      throw sdkError('InvalidArgument', 'no fetch function: pass options.fetch');
    }
    await load();
    const release = await lock(store);
    try {
      const snapshot = await store.load();
      const core = new Core(snapshot ?? undefined, JSON.stringify(tunables));
      const client = new Client(OPEN, core, store, collectorUrl.replace(/\/+$/, ''), fetcher, now, release);
      if (!snapshot) {
        // The new device secret is kept from the start.
        client.#changed();
        await client.flush();
      }
      return client;
    } catch (e) {
      release?.();
      throw e;
    }
  }

  #check() {
    if (!this.#core) {
      throw sdkError('InvalidArgument', 'the client is closed');
    }
    if (this.#failure) {
      const failure = this.#failure;
      this.#failure = null;
      this.#changed();
      throw sdkError('Storage', `the state could not be saved: ${failure.message ?? failure}`);
    }
  }

  #changed() {
    this.#dirty = true;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setTimeout(() => {
        this.#scheduled = false;
        this.flush().catch((e) => {
          this.#failure = e;
        });
      }, 0);
    }
  }

  /** Saves what has changed now (and waits for earlier saves). */
  flush() {
    const save = async () => {
      if (!this.#dirty || !this.#core) {
        return;
      }
      this.#dirty = false;
      const bytes = this.#core.snapshot();
      try {
        await this.#store.save(bytes);
      } catch (e) {
        this.#dirty = true;
        throw e;
      }
    };
    this.#saving = this.#saving.catch(() => {}).then(save);
    return this.#saving;
  }

  async #config(campaign) {
    if (!this.#core.needsConfig(campaign)) {
      return;
    }
    if ((this.#unknown.get(campaign) ?? 0) > this.#now()) {
      throw sdkError('UnknownCampaign', `unknown campaign ${JSON.stringify(campaign)}`);
    }
    let fetching = this.#fetching.get(campaign);
    if (!fetching) {
      fetching = this.#fetchConfig(campaign).finally(() => this.#fetching.delete(campaign));
      this.#fetching.set(campaign, fetching);
    }
    const body = await fetching;
    if (this.#core.needsConfig(campaign)) {
      this.#core.installConfig(campaign, body, this.#now());
      this.#changed();
    }
  }

  async #fetchConfig(campaign) {
    let response;
    try {
      response = await this.#fetch(`${this.#url}/v1/campaigns/${encodeURIComponent(campaign)}`, {
        headers: { accept: 'application/json' },
      });
    } catch (e) {
      throw sdkError('Network', `collector: ${e.message ?? e}`);
    }
    const body = new Uint8Array(await response.arrayBuffer());
    if (response.status === 404) {
      this.#unknown.set(campaign, this.#now() + UNKNOWN_CAMPAIGN_SECONDS);
      throw sdkError('UnknownCampaign', `unknown campaign ${JSON.stringify(campaign)}`);
    }
    this.#unknown.delete(campaign);
    if (!response.ok) {
      throw sdkError('Network', `collector: HTTP ${response.status}: ${new TextDecoder().decode(body)}`);
    }
    return body;
  }

  /**
   * Records `value` for `campaign` in the current epoch: a string (a dictionary entry, an
   * open-domain string, a range domain's decimal index) or a number (numeric campaigns).
   * Refused with a typed error, changing nothing, when the campaign is unknown, the value is
   * not in its domain, or the epoch's budget is spent. Does nothing while uploads are disabled.
   */
  async record(campaign, value) {
    this.#check();
    if (typeof value === 'number') {
      return this.#record(campaign, (core, now) => core.recordNumber(campaign, value, now));
    }
    if (typeof value !== 'string') {
      throw sdkError('InvalidValue', `value refused: ${typeof value} is neither a string nor a number`);
    }
    return this.#record(campaign, (core, now) => core.record(campaign, value, now));
  }

  /** Records a value by its index below the campaign's k (a dictionary's `other` is k − 1). */
  async recordIndex(campaign, index) {
    this.#check();
    if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
      throw sdkError('InvalidValue', `value refused: index ${index} is not a whole number below 2^32`);
    }
    return this.#record(campaign, (core, now) => core.recordIndex(campaign, index, now));
  }

  async #record(campaign, apply) {
    if (!this.#core.uploadEnabled()) {
      return;
    }
    await this.#config(campaign);
    apply(this.#core, this.#now());
    this.#changed();
  }

  /**
   * Sends every batch that is due, after saving the state that charges it. Acknowledged
   * batches leave the outbox; one refused for good is dropped and counted; on a network
   * failure, 401, 403, 408, 425, 429 or 5xx sending stops and the batch is retried later with the
   * identical bytes. Also re-checks the cached campaign configurations once per epoch.
   */
  async uploadPending() {
    this.#check();
    const summary = {
      batchesSent: 0,
      reportsSent: 0,
      batchesRejected: 0,
      batchesWaiting: 0,
      reportsWaiting: 0,
      nextDue: null,
      error: null,
    };
    if (this.#core.uploadEnabled()) {
      await this.#refreshConfigs();
      const due = this.#core.due(this.#now());
      // Nothing leaves before the state that charges it (and freezes its bytes) is saved.
      this.#changed();
      await this.flush();
      for (const batch of due) {
        const { row, campaign, body } = batch;
        batch.free();
        let delivery;
        try {
          const response = await this.#fetch(`${this.#url}/v1/campaigns/${encodeURIComponent(campaign)}/reports`, {
            method: 'POST',
            headers: { 'content-type': BATCH_CONTENT_TYPE },
            body,
          });
          const answer = new Uint8Array(await response.arrayBuffer());
          const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
          delivery = JSON.parse(this.#core.answered(row, response.status,
            Number.isFinite(retryAfter) ? retryAfter : undefined, answer, this.#now()));
          if (delivery.outcome === 'retry') {
            summary.error = `HTTP ${response.status}: ${new TextDecoder().decode(answer)}`;
          }
        } catch (e) {
          delivery = JSON.parse(this.#core.unanswered(row, String(e.message ?? e), this.#now()));
          summary.error = String(e.message ?? e);
        }
        this.#changed();
        if (delivery.outcome === 'acknowledged') {
          summary.batchesSent += 1;
          summary.reportsSent += delivery.reports;
        } else if (delivery.outcome === 'rejected') {
          summary.batchesRejected += 1;
        } else {
          break;
        }
      }
      await this.flush();
    }
    const waiting = JSON.parse(this.#core.waiting());
    summary.batchesWaiting = waiting.batches;
    summary.reportsWaiting = waiting.reports;
    summary.nextDue = waiting.nextDue;
    return summary;
  }

  async #refreshConfigs() {
    for (const campaign of this.#core.configsToCheck(this.#now())) {
      try {
        const body = await this.#fetchConfig(campaign);
        this.#core.installConfig(campaign, body, this.#now());
      } catch {
        this.#core.configUnavailable(campaign, this.#now());
      }
      this.#changed();
    }
  }

  /**
   * Turns uploads on or off. Off deletes every waiting report and makes `record` and
   * `uploadPending` do nothing; budget already spent stays spent. The choice is saved.
   */
  async setUploadEnabled(enabled) {
    this.#check();
    this.#core.setUploadEnabled(Boolean(enabled));
    this.#changed();
    await this.flush();
  }

  /** Whether uploads are enabled. */
  uploadEnabled() {
    this.#check();
    return this.#core.uploadEnabled();
  }

  /** What this device has spent on `campaign`: reports and ε per epoch and over its lifetime. */
  privacySpent(campaign) {
    this.#check();
    return JSON.parse(this.#core.privacySpent(campaign));
  }

  /**
   * Counters of the outbox's history: `acknowledged_batches`, `acknowledged_reports`,
   * `rejected_batches`, `rejected_reports`, `dropped_batches`, `dropped_reports`.
   */
  counter(name) {
    this.#check();
    return this.#core.counter(name);
  }

  /** Saves the state and frees the client (and the store's lock); later calls are refused. */
  async close() {
    if (!this.#core) {
      return;
    }
    await this.flush();
    this.#core.free();
    this.#core = null;
    this.#release?.();
  }
}

const OPEN = Symbol('open');

/** Takes the store's Web Lock, where the store names one and the platform has Web Locks. */
async function lock(store) {
  const name = store.lockName;
  if (!name || typeof navigator === 'undefined' || !navigator.locks) {
    return null;
  }
  let release;
  const held = new Promise((resolve) => {
    release = resolve;
  });
  const acquired = await new Promise((resolve) => {
    navigator.locks.request(name, { ifAvailable: true }, (granted) => {
      resolve(Boolean(granted));
      return granted ? held : undefined;
    });
  });
  if (!acquired) {
    throw sdkError('Storage', `another tab or worker holds ${name}: open one client per store (a SharedWorker can serve every tab)`);
  }
  return release;
}
