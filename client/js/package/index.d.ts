/** Where a client keeps its state: one opaque snapshot, loaded once and saved whole. */
export interface Store {
  /** The saved snapshot, or null when there is none yet. */
  load(): Promise<Uint8Array | null>;
  /** Saves `bytes` durably; resolves only when they would survive a crash. */
  save(bytes: Uint8Array): Promise<void>;
  /** A Web Lock name that makes the store single-writer across tabs (optional). */
  readonly lockName?: string;
}

/** Keeps the state in memory only. */
export declare class MemoryStore implements Store {
  load(): Promise<Uint8Array | null>;
  save(bytes: Uint8Array): Promise<void>;
}

/** Keeps the state in IndexedDB (database `name`, default "ldp-telemetry"). */
export declare class IndexedDbStore implements Store {
  constructor(name?: string);
  readonly lockName: string;
  load(): Promise<Uint8Array | null>;
  save(bytes: Uint8Array): Promise<void>;
}

/** The kinds of error the SDK throws, as the `name` of the thrown `Error`. */
export type SdkErrorName =
  | 'UnknownCampaign'
  | 'InvalidValue'
  | 'NumberOutOfRange'
  | 'BudgetExhausted'
  | 'LifetimeBudgetExhausted'
  | 'Storage'
  | 'Network'
  | 'Config'
  | 'InvalidArgument'
  | 'Randomness';

export interface OpenOptions {
  /** The collector's base URL, http(s). */
  collectorUrl: string;
  /** Where the state lives (default: a MemoryStore). */
  store?: Store;
  /** The fetch function (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** Seconds since the Unix epoch (default: the system clock). */
  now?: () => number;
  /** Window after an epoch's end over which its batch is released (default: one epoch). */
  releaseWindowSeconds?: number;
  /** Most batches kept in the outbox (default 500). */
  maxOutboxBatches?: number;
  /** Most report bytes kept in the outbox (default 8 MiB, at most 12 MiB). */
  maxOutboxBytes?: number;
  /** Most reports in one batch (default 1,000). */
  maxBatchReports?: number;
  /** First wait after a failed send, seconds (default 60). */
  retryBaseSeconds?: number;
  /** Longest wait between attempts, seconds (default 6 hours). */
  retryMaxSeconds?: number;
}

export interface UploadSummary {
  batchesSent: number;
  reportsSent: number;
  batchesRejected: number;
  batchesWaiting: number;
  reportsWaiting: number;
  /** Unix time at which the next batch becomes due, if any is waiting. */
  nextDue: number | null;
  /** Why sending stopped early, if it did. */
  error: string | null;
}

export interface EpochSpend {
  epoch: number;
  reports: number;
  epsilon: number;
}

export interface PrivacySpent {
  campaign: string;
  epochs: EpochSpend[];
  lifetimeReports: number;
  /** For a memoized mechanism, the permanent responses drawn times ε∞; else the sum of ε. */
  lifetimeEpsilon: number;
  /** Distinct permanent responses drawn (RAPPOR, LOLOHA, L-SUE, L-OUE). */
  permanentResponses: number;
  /** The campaign's bound on lifetimeEpsilon, or null. */
  maxLifetimeEpsilon: number | null;
}

/** Seconds before a campaign the collector did not know is asked about again. */
export declare const UNKNOWN_CAMPAIGN_SECONDS: 600;

/** Media type of a batch upload. */
export declare const BATCH_CONTENT_TYPE: 'application/x-ldp-batch';

/** Loads the WebAssembly module (Client.open does it). */
export declare function load(): Promise<void>;

/** The device SDK. */
export declare class Client {
  private constructor();
  static open(options: OpenOptions): Promise<Client>;
  record(campaign: string, value: string | number): Promise<void>;
  recordIndex(campaign: string, index: number): Promise<void>;
  uploadPending(): Promise<UploadSummary>;
  setUploadEnabled(enabled: boolean): Promise<void>;
  uploadEnabled(): boolean;
  privacySpent(campaign: string): PrivacySpent;
  counter(name: string): number;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** A seeded encoder, for test vectors and benchmarks only (a known seed voids privacy). */
export declare class SimulationEncoder {
  constructor(specJson: string, seedHex: string);
  encode(value: string): Uint8Array;
  encodeRepeated(index: number, n: number): number;
  free(): void;
}

/** Encodes `n` reports of value `index` with the production encoder and returns `n` (a benchmark). */
export declare function benchmarkEncode(specJson: string, index: number, n: number): number;
