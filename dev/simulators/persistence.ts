import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { Sequence } from './responses.js';

type Stores = Record<string, object>;
type Snapshot = Record<string, Record<string, unknown[] | { sequence: number }>>;

const isSequence = (value: unknown): value is Sequence => typeof value === 'function' && 'counter' in value;

/**
 * A store's state is its arrays of records and its id sequences; nothing else needs keeping. Reading them off the
 * store objects keeps each store free of save/load code.
 */
export function snapshot(stores: Stores): Snapshot {
  const result: Snapshot = {};
  for (const [name, store] of Object.entries(stores)) {
    result[name] = {};
    for (const [field, value] of Object.entries(store)) {
      if (Array.isArray(value)) result[name][field] = value;
      else if (isSequence(value)) result[name][field] = { sequence: value.counter.next };
    }
  }
  return result;
}

export function restore(stores: Stores, saved: Snapshot): void {
  for (const [name, fields] of Object.entries(saved)) {
    const store = stores[name] as Record<string, unknown> | undefined;
    if (!store) continue;
    for (const [field, value] of Object.entries(fields)) {
      const target = store[field];
      if (Array.isArray(target) && Array.isArray(value)) target.splice(0, target.length, ...value);
      else if (isSequence(target) && !Array.isArray(value)) target.counter.next = value.sequence;
    }
  }
}

/** Loads `file` into the stores (a damaged file only loses simulator records) and returns a debounced saver. */
export function persistTo(file: string, stores: Stores): { changed(): void; flush(): Promise<void> } {
  if (existsSync(file)) {
    try {
      restore(stores, JSON.parse(readFileSync(file, 'utf8')) as Snapshot);
    } catch {
      // start empty
    }
  }
  let timer: NodeJS.Timeout | undefined;
  let writing = Promise.resolve();
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    writing = writing.then(async () => {
      await writeFile(`${file}.tmp`, JSON.stringify(snapshot(stores)));
      await rename(`${file}.tmp`, file);
    });
    return writing;
  };
  return {
    changed() {
      timer ??= setTimeout(() => void flush(), 200);
    },
    flush,
  };
}
