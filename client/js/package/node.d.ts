import type { Store } from './index.js';

/** Keeps the state in one file, replaced atomically and synced on every save. */
export declare class FileStore implements Store {
  constructor(path: string);
  load(): Promise<Uint8Array | null>;
  save(bytes: Uint8Array): Promise<void>;
}
