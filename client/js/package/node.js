// A store for Node: the state in one file, replaced atomically and synced to disk on every save.
import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Keeps the state in the file at `path` (its directory must exist). A save writes a temporary
 * file beside it, syncs it, renames it over the old one and syncs the directory, so a crash
 * leaves either the old state or the new one. One client per file.
 */
export class FileStore {
  #path;

  constructor(path) {
    this.#path = path;
  }

  async load() {
    try {
      return new Uint8Array(await readFile(this.#path));
    } catch (e) {
      if (e.code === 'ENOENT') {
        return null;
      }
      throw e;
    }
  }

  async save(bytes) {
    const temporary = `${this.#path}.tmp`;
    const file = await open(temporary, 'w', 0o600);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, this.#path);
    const directory = await open(dirname(this.#path), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }
}
