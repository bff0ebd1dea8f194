/**
 * Enrichment interfaces that one domain implements and another consumes, so domains never import each other.
 * The flows collector asks "which AS originates this address?"; a prefix table from configuration answers
 * until the BGP domain answers from its live RIB.
 */

import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { defineSection, type SectionValue } from './config.ts';
import { errorMessage } from './errors.ts';
import type { Component } from './lifecycle.ts';
import type { Nats } from './nats.ts';

/** Origin AS of the longest prefix that covers an address. */
export interface OriginAsLookup {
  /** `address` is 4 (IPv4) or 16 (IPv6) octets; undefined when no prefix covers it. */
  originAs(address: Uint8Array): number | undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// How a process obtains an OriginAsLookup.
//
// In one process (`kansoku up`), the service that owns a live table (bgp-processor) provides it on the process's
// slot and consumers (flows-collector) read the slot at each call, so build order does not matter and the
// consumer falls back to what it has while the slot is empty. Across processes, the owner answers batched
// requests on NATS (`ORIGIN_AS_SUBJECT`) and consumers use `createNatsOriginAsClient`, a synchronous lookup
// over a local cache that asks NATS in the background.

/** The process's provider of origin AS lookups (one per runtime object). */
export interface OriginAsSlot {
  provide(lookup: OriginAsLookup): void;
  /** Stops providing (the provider stopped); only if `lookup` is the one provided. */
  withdraw(lookup: OriginAsLookup): void;
  current(): OriginAsLookup | undefined;
}

const slots = new WeakMap<object, OriginAsSlot>();

/** The slot of a process, keyed by its runtime (or any object standing for the process). */
export function originAsSlot(owner: object): OriginAsSlot {
  let slot = slots.get(owner);
  if (slot === undefined) {
    let provided: OriginAsLookup | undefined;
    slot = {
      provide: (lookup) => {
        provided = lookup;
      },
      withdraw: (lookup) => {
        if (provided === lookup) provided = undefined;
      },
      current: () => provided,
    };
    slots.set(owner, slot);
  }
  return slot;
}

/** The first lookup that answers, in order (e.g. the process slot, then NATS, then a configured table). */
export function chainOriginAsLookups(lookups: readonly (() => OriginAsLookup | undefined)[]): OriginAsLookup {
  return {
    originAs(address) {
      for (const get of lookups) {
        const answer = get()?.originAs(address);
        if (answer !== undefined) return answer;
      }
      return undefined;
    },
  };
}

/** NATS subject of batched origin AS requests (request/reply; responders in a queue group). */
export const ORIGIN_AS_SUBJECT = 'kansoku.bgp.origin-as';
/** Largest number of addresses in one request. */
export const ORIGIN_AS_MAX_BATCH = 4096;

/** Request: addresses, each as its length (4 or 16) then its octets. */
export function encodeOriginAsRequest(addresses: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const a of addresses) size += 1 + a.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const a of addresses) {
    out[at++] = a.length;
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** The addresses of a request; throws RangeError on a malformed one. */
export function decodeOriginAsRequest(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const length = bytes[at++]!;
    if ((length !== 4 && length !== 16) || at + length > bytes.length) {
      throw new RangeError(`origin AS request: bad address length ${length} at byte ${at - 1}`);
    }
    out.push(bytes.subarray(at, at + length));
    at += length;
    if (out.length > ORIGIN_AS_MAX_BATCH) throw new RangeError('origin AS request: too many addresses');
  }
  return out;
}

export interface OriginAsAnswer {
  /** 0 when no prefix covers the address (or its path ends in an AS_SET). */
  asn: number;
  /** Every address of this aligned block around the address has the same answer: what a cache may key on. */
  uniformLength: number;
}

/** Reply: per address, in request order, the ASN (4 octets, big-endian) and the uniform block length (1). */
export function encodeOriginAsReply(answers: readonly OriginAsAnswer[]): Uint8Array {
  const out = new Uint8Array(answers.length * 5);
  const view = new DataView(out.buffer);
  answers.forEach((a, i) => {
    view.setUint32(i * 5, a.asn >>> 0);
    out[i * 5 + 4] = a.uniformLength;
  });
  return out;
}

export function decodeOriginAsReply(bytes: Uint8Array): OriginAsAnswer[] {
  if (bytes.length % 5 !== 0)
    throw new RangeError(`origin AS reply: ${bytes.length} bytes is not a multiple of 5`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: OriginAsAnswer[] = [];
  for (let at = 0; at < bytes.length; at += 5)
    out.push({ asn: view.getUint32(at), uniformLength: bytes[at + 4]! });
  return out;
}

export const originAsClientSection = defineSection(
  'originAsClient',
  Type.Object({
    nats: Type.Boolean({
      default: true,
      description:
        'Ask a bgp-processor over NATS when none runs in this process (answers come from a local cache, filled in the background)',
    }),
    subject: Type.String({
      default: ORIGIN_AS_SUBJECT,
      minLength: 1,
      description: 'NATS subject of requests',
    }),
    cacheTtlMs: Type.Integer({
      default: 60_000,
      minimum: 1000,
      description: 'How long an answer is used before it is asked again (route changes show within this)',
    }),
    maxCacheEntries: Type.Integer({ default: 500_000, minimum: 1000, description: 'Cached blocks at most' }),
    requestTimeoutMs: Type.Integer({ default: 2000, minimum: 50, description: 'Wait for a reply at most' }),
    batchDelayMs: Type.Integer({
      default: 20,
      minimum: 1,
      description: 'Addresses missing from the cache are asked together after this delay',
    }),
  }),
);

export type OriginAsClientConfig = SectionValue<typeof originAsClientSection>;

interface CachedAnswer {
  asn: number;
  expiresAt: number;
}

export interface NatsOriginAsClient extends OriginAsLookup, Component {
  /** Resolves once every address asked so far has been answered (or its request failed). */
  settled(): Promise<void>;
}

/**
 * `originAs` answers from a cache keyed by the blocks the server says are uniform (an IPv4 /16, /24 or /32, an
 * IPv6 block up to the longest length in use), so one request serves every address of a block. A miss answers
 * undefined at once (a flow is never held back) and queues the address; queued addresses go out in one request
 * per `batchDelayMs`. An expired answer is still used while it is asked again.
 */
export function createNatsOriginAsClient(
  config: OriginAsClientConfig,
  deps: { nats: Nats; log: Logger; metrics: Registry },
): NatsOriginAsClient {
  const lookups =
    (deps.metrics.getSingleMetric('kansoku_origin_as_client_lookups_total') as
      | Counter<'outcome'>
      | undefined) ??
    new Counter({
      name: 'kansoku_origin_as_client_lookups_total',
      help: 'Origin AS lookups of the NATS client, by outcome (hit, miss)',
      labelNames: ['outcome'],
      registers: [deps.metrics],
    });
  const requests =
    (deps.metrics.getSingleMetric('kansoku_origin_as_client_requests_total') as
      | Counter<'outcome'>
      | undefined) ??
    new Counter({
      name: 'kansoku_origin_as_client_requests_total',
      help: 'Batched origin AS requests sent over NATS, by outcome (ok, error)',
      labelNames: ['outcome'],
      registers: [deps.metrics],
    });
  const hits = lookups.labels({ outcome: 'hit' });
  const misses = lookups.labels({ outcome: 'miss' });
  /** Per family, block length → (block key → answer). */
  const v4 = new Map<number, Map<number, CachedAnswer>>();
  const v6 = new Map<number, Map<string, CachedAnswer>>();
  let v4Lengths: number[] = [];
  let v6Lengths: number[] = [];
  let entries = 0;
  const queued = new Map<string, Uint8Array>();
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();
  let running = false;
  let lastError = 0;

  const word = (a: Uint8Array) => ((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0;
  const maskV4 = (w: number, length: number) =>
    length === 0 ? 0 : (w & (0xffffffff << (32 - length))) >>> 0;
  const keyV6 = (a: Uint8Array, length: number): string => {
    const bytes = Uint8Array.from(a);
    for (let bit = length; bit < 128; bit++) bytes[bit >> 3] = bytes[bit >> 3]! & ~(0x80 >> (bit & 7));
    return Buffer.from(bytes).toString('hex');
  };

  const find = (address: Uint8Array): CachedAnswer | undefined => {
    if (address.length === 4) {
      const w = word(address);
      for (const length of v4Lengths) {
        const hit = v4.get(length)?.get(maskV4(w, length));
        if (hit !== undefined) return hit;
      }
      return undefined;
    }
    for (const length of v6Lengths) {
      const hit = v6.get(length)?.get(keyV6(address, length));
      if (hit !== undefined) return hit;
    }
    return undefined;
  };

  const store = (address: Uint8Array, answer: OriginAsAnswer, now: number) => {
    if (entries >= config.maxCacheEntries) {
      // Bounded: start over rather than track recency per entry (the hot blocks come back within a batch).
      v4.clear();
      v6.clear();
      v4Lengths = [];
      v6Lengths = [];
      entries = 0;
    }
    const cached = { asn: answer.asn, expiresAt: now + config.cacheTtlMs };
    const length = answer.uniformLength;
    if (address.length === 4) {
      let byLength = v4.get(length);
      if (byLength === undefined) {
        byLength = new Map();
        v4.set(length, byLength);
        v4Lengths = [...v4.keys()].sort((a, b) => b - a);
      }
      byLength.set(maskV4(word(address), length), cached);
    } else {
      let byLength = v6.get(length);
      if (byLength === undefined) {
        byLength = new Map();
        v6.set(length, byLength);
        v6Lengths = [...v6.keys()].sort((a, b) => b - a);
      }
      byLength.set(keyV6(address, length), cached);
    }
    entries++;
  };

  const flush = () => {
    timer = undefined;
    if (!running || queued.size === 0) return;
    const batch = [...queued.values()].slice(0, ORIGIN_AS_MAX_BATCH);
    for (const a of batch) queued.delete(Buffer.from(a).toString('hex'));
    if (queued.size > 0) timer = setTimeout(flush, config.batchDelayMs);
    const request = (async () => {
      try {
        const reply = await deps.nats
          .connection()
          .request(config.subject, encodeOriginAsRequest(batch), { timeout: config.requestTimeoutMs });
        const answers = decodeOriginAsReply(reply.data);
        const now = Date.now();
        answers.forEach((answer, i) => {
          const address = batch[i];
          if (address !== undefined) store(address, answer, now);
        });
        requests.inc({ outcome: 'ok' });
      } catch (error) {
        requests.inc({ outcome: 'error' });
        if (Date.now() - lastError > 60_000) {
          lastError = Date.now();
          deps.log.warn({ err: errorMessage(error), subject: config.subject }, 'origin AS request failed');
        }
      }
    })();
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  };

  const ask = (address: Uint8Array) => {
    const key = Buffer.from(address).toString('hex');
    if (queued.has(key)) return;
    queued.set(key, Uint8Array.from(address));
    if (timer === undefined && running) timer = setTimeout(flush, config.batchDelayMs);
  };

  return {
    name: 'origin-as-client',
    async start() {
      running = true;
      if (queued.size > 0 && timer === undefined) timer = setTimeout(flush, config.batchDelayMs);
    },
    async stop() {
      running = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await Promise.allSettled([...inFlight]);
    },
    originAs(address) {
      if (address.length !== 4 && address.length !== 16) return undefined;
      const cached = find(address);
      if (cached === undefined) {
        misses.inc();
        ask(address);
        return undefined;
      }
      hits.inc();
      if (cached.expiresAt < Date.now()) ask(address);
      return cached.asn === 0 ? undefined : cached.asn;
    },
    async settled() {
      while (queued.size > 0 || inFlight.size > 0 || timer !== undefined) {
        if (timer !== undefined) {
          clearTimeout(timer);
          flush();
        }
        await Promise.allSettled([...inFlight]);
      }
    },
  };
}
