/**
 * The gateway's result cache: serialized query answers in memory, least recently used first out,
 * bounded in entries and in bytes, each with its own lifetime (short while its range still fills,
 * long once it is closed past). Identical requests that arrive while one is being answered wait for
 * that one answer instead of each running the warehouse query (single flight), whether or not the
 * cache keeps results. A result past its lifetime may still be served for a while (stale), as HTTP's
 * stale-while-revalidate does: the request that finds it gets it at once and starts one refresh, so
 * a board's tail latency does not pay for a lifetime ending under it.
 */
import { Counter, Gauge, type Registry } from '@kansoku/kit';

export type CacheOutcome =
  /** Answered from a kept result. */
  | 'hit'
  /** Ran the query (and kept the answer when the cache is on). */
  | 'miss'
  /** Joined an identical request already running. */
  | 'shared'
  /** Ran the query because the client asked for a fresh answer (Cache-Control: no-cache). */
  | 'refresh'
  /** Answered from a result past its lifetime (within its stale window) while one request refreshes it. */
  | 'stale'
  /** The cache is off or the query opts out: ran the query, kept nothing. */
  | 'off';

export interface CacheAnswer {
  body: string;
  outcome: CacheOutcome;
  /** When a kept answer expires (ms since the epoch); 0 when it is not kept. */
  expiresAt: number;
}

export interface ResultCacheOptions {
  enabled: boolean;
  maxEntries: number;
  maxBytes: number;
}

export interface FetchOptions {
  /** Lifetime of the answer once produced; 0 keeps nothing. */
  ttlMs: number;
  /**
   * After its lifetime, how long the answer may still be served (at once, marked stale) while a
   * single background run refreshes it; 0 serves nothing stale.
   */
  staleMs?: number;
  /** Skip the lookup (the client wants a fresh answer); the new answer is still kept. */
  refresh?: boolean;
  /** Keep nothing and look nothing up (the query opts out); single flight still applies. */
  bypass?: boolean;
  /**
   * The key of the same question one window earlier (a live range that slid past a boundary).
   * When `key` has no answer yet, that one's answer is served stale while `key` is computed once
   * in the background, so a board's refresh right after a boundary does not wait for the warehouse.
   */
  previousKey?: string;
}

export interface ResultCache {
  fetch(key: string, options: FetchOptions, produce: () => Promise<string>): Promise<CacheAnswer>;
  readonly entries: number;
  readonly bytes: number;
  clear(): void;
}

interface Entry {
  body: string;
  bytes: number;
  expiresAt: number;
  /** Served stale until then; dropped after. */
  staleUntil: number;
}

interface Flight {
  promise: Promise<string>;
  /** When the answer of this flight expires once kept; 0 while running or when not kept. */
  expiresAt: number;
}

/** Overhead of an entry beyond its body: the key, the Map slot and the entry object (an estimate). */
const ENTRY_OVERHEAD_BYTES = 96;

export function createResultCache(
  options: ResultCacheOptions,
  metrics: Registry,
  now: () => number = Date.now,
): ResultCache {
  const kept = new Map<string, Entry>();
  const inFlight = new Map<string, Flight>();
  let bytes = 0;
  // One result may not push out more than a quarter of the cache: a rare huge answer would
  // otherwise evict the many small ones every board needs.
  const maxEntryBytes = Math.floor(options.maxBytes / 4);

  const lookups = new Counter({
    name: 'kansoku_gateway_cache_requests_total',
    help: 'Query requests by cache outcome (hit, miss, shared = joined an identical running query, refresh, off)',
    labelNames: ['outcome'],
    registers: [metrics],
  });
  const evictions = new Counter({
    name: 'kansoku_gateway_cache_evictions_total',
    help: 'Results dropped from the cache: expired, or pushed out by the entry or byte bound',
    labelNames: ['reason'],
    registers: [metrics],
  });
  const skipped = new Counter({
    name: 'kansoku_gateway_cache_too_large_total',
    help: 'Results not kept because they were larger than a quarter of cacheMaxBytes',
    registers: [metrics],
  });
  new Gauge({
    name: 'kansoku_gateway_cache_entries',
    help: 'Results in the cache',
    registers: [metrics],
    collect() {
      this.set(kept.size);
    },
  });
  new Gauge({
    name: 'kansoku_gateway_cache_bytes',
    help: 'Estimated bytes of the results in the cache',
    registers: [metrics],
    collect() {
      this.set(bytes);
    },
  });
  const refreshFailures = new Counter({
    name: 'kansoku_gateway_cache_refresh_failures_total',
    help: 'Background refreshes of a stale result that failed (the stale result was served; the next request retries)',
    registers: [metrics],
  });
  for (const outcome of ['hit', 'miss', 'shared', 'refresh', 'stale', 'off']) lookups.inc({ outcome }, 0);
  for (const reason of ['expired', 'capacity']) evictions.inc({ reason }, 0);

  function drop(key: string, entry: Entry, reason: 'expired' | 'capacity'): void {
    kept.delete(key);
    bytes -= entry.bytes;
    evictions.inc({ reason });
  }

  function store(key: string, body: string, ttlMs: number, staleMs: number): number {
    if (ttlMs <= 0) return 0;
    const size = body.length + key.length + ENTRY_OVERHEAD_BYTES;
    if (size > maxEntryBytes) {
      skipped.inc();
      return 0;
    }
    const previous = kept.get(key);
    if (previous) {
      kept.delete(key);
      bytes -= previous.bytes;
    }
    const expiresAt = now() + ttlMs;
    kept.set(key, { body, bytes: size, expiresAt, staleUntil: expiresAt + staleMs });
    bytes += size;
    // Map order is insertion order, and a hit re-inserts: the first entries are the least recently used.
    for (const [oldKey, old] of kept) {
      if (kept.size <= options.maxEntries && bytes <= options.maxBytes) break;
      drop(oldKey, old, old.staleUntil <= now() ? 'expired' : 'capacity');
    }
    return expiresAt;
  }

  function lookup(key: string): Entry | undefined {
    const entry = kept.get(key);
    if (!entry) return undefined;
    if (entry.staleUntil <= now()) {
      drop(key, entry, 'expired');
      return undefined;
    }
    kept.delete(key);
    kept.set(key, entry);
    return entry;
  }

  /** Runs `produce` as the one flight of `key`; its answer is kept when `keep`. */
  function fly(key: string, keep: boolean, options: FetchOptions, produce: () => Promise<string>): Flight {
    const flight: Flight = { promise: Promise.resolve(''), expiresAt: 0 };
    flight.promise = produce().then((body) => {
      if (keep) flight.expiresAt = store(key, body, options.ttlMs, options.staleMs ?? 0);
      return body;
    });
    inFlight.set(key, flight);
    // A refresh may have replaced this flight with its own; only the owner removes it.
    const settle = () => {
      if (inFlight.get(key) === flight) inFlight.delete(key);
    };
    flight.promise.then(settle, settle);
    return flight;
  }

  return {
    async fetch(key, fetchOptions, produce) {
      const keep = options.enabled && !fetchOptions.bypass && fetchOptions.ttlMs > 0;
      if (keep && !fetchOptions.refresh) {
        const entry = lookup(key);
        if (entry && entry.expiresAt > now()) {
          lookups.inc({ outcome: 'hit' });
          return { body: entry.body, outcome: 'hit', expiresAt: entry.expiresAt };
        }
        if (entry) {
          // Past its lifetime, within its stale window: answer now, refresh once in the background.
          if (!inFlight.has(key)) {
            fly(key, keep, fetchOptions, produce).promise.catch(() => refreshFailures.inc());
          }
          lookups.inc({ outcome: 'stale' });
          return { body: entry.body, outcome: 'stale', expiresAt: 0 };
        }
        const previous = fetchOptions.previousKey ? lookup(fetchOptions.previousKey) : undefined;
        if (previous) {
          if (!inFlight.has(key)) {
            fly(key, keep, fetchOptions, produce).promise.catch(() => refreshFailures.inc());
          }
          lookups.inc({ outcome: 'stale' });
          return { body: previous.body, outcome: 'stale', expiresAt: 0 };
        }
      }
      const running = inFlight.get(key);
      if (running && !fetchOptions.refresh) {
        lookups.inc({ outcome: 'shared' });
        const body = await running.promise;
        return { body, outcome: 'shared', expiresAt: running.expiresAt };
      }
      const outcome: CacheOutcome = !keep ? 'off' : fetchOptions.refresh ? 'refresh' : 'miss';
      lookups.inc({ outcome });
      const flight = fly(key, keep, fetchOptions, produce);
      const body = await flight.promise;
      return { body, outcome, expiresAt: flight.expiresAt };
    },
    get entries() {
      return kept.size;
    },
    get bytes() {
      return bytes;
    },
    clear() {
      kept.clear();
      bytes = 0;
    },
  };
}
