/**
 * Building DnsQuery records (the contract message) from DNS messages, and pairing a query with its
 * response when they arrive apart (dnstap CLIENT_QUERY then CLIENT_RESPONSE, or two packets of a capture).
 *
 * The pairing table is bounded in entries and in time: a query whose response does not come within the
 * timeout is published without one (`response_seen` false), and when the table is full the oldest query is
 * published unpaired to make room. Time is whatever the caller says it is (the wall clock for live feeds,
 * the capture's clock for replays), so a replay pairs the same way at any speed.
 */

import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import type { DnsMessage } from './dns-wire.ts';

/** Enum values of the contract (kept as numbers: the generated enums are plain numbers too). */
export const IpVersion = { UNSPECIFIED: 0, V4: 1, V6: 2 } as const;
export const DnsTransport = { UNSPECIFIED: 0, UDP: 1, TCP: 2, DOT: 3, DOH: 4, DOQ: 5 } as const;
export const DnsEventSource = { UNSPECIFIED: 0, DNSTAP: 1, QUERY_LOG: 2, PCAP: 3 } as const;

const EMPTY = new Uint8Array(0);

/** A DnsQuery with every field at its default. */
export function newDnsQuery(): DnsQuery {
  return {
    $typeName: 'kansoku.dns.v1.DnsQuery',
    timeQueryNs: 0n,
    timeReceivedNs: 0n,
    clientAddress: EMPTY,
    clientPort: 0,
    serverAddress: EMPTY,
    serverPort: 0,
    ipVersion: IpVersion.UNSPECIFIED,
    transport: DnsTransport.UNSPECIFIED,
    messageId: 0,
    qname: '',
    qtype: 0,
    qclass: 0,
    recursionDesired: false,
    dnssecOk: false,
    querySizeBytes: 0,
    responseSeen: false,
    rcode: 0,
    responseTimeUs: 0n,
    responseSizeBytes: 0,
    answerCount: 0,
    truncated: false,
    source: DnsEventSource.UNSPECIFIED,
    resolverIdentity: '',
  };
}

/** IP version from an address's length (4 or 16 octets). */
export function ipVersionOf(address: Uint8Array | undefined): number {
  if (address?.length === 4) return IpVersion.V4;
  if (address?.length === 16) return IpVersion.V6;
  return IpVersion.UNSPECIFIED;
}

/** Fills the query-side fields from a decoded query message (which has a question). */
export function applyQueryMessage(record: DnsQuery, message: DnsMessage): void {
  record.messageId = message.id;
  record.qname = message.question?.name ?? '';
  record.qtype = message.question?.type ?? 0;
  record.qclass = message.question?.class ?? 0;
  record.recursionDesired = message.recursionDesired;
  record.dnssecOk = message.edns?.dnssecOk ?? false;
  record.querySizeBytes = message.size;
}

/**
 * Fills the response-side fields. With no query seen, the question, id and RD come from the response
 * (servers echo them; DO is echoed in the OPT record, RFC 3225), and the query size stays unknown (0).
 */
export function applyResponseMessage(record: DnsQuery, message: DnsMessage, hadQuery: boolean): void {
  if (!hadQuery) {
    applyQueryMessage(record, message);
    record.querySizeBytes = 0;
  }
  record.responseSeen = true;
  record.rcode = message.rcode;
  record.responseSizeBytes = message.size;
  record.answerCount = message.answerCount;
  record.truncated = message.truncated;
}

/** Microseconds from `fromNs` to `toNs`, 0 when the clocks disagree (response stamped before its query). */
export function elapsedMicros(fromNs: bigint, toNs: bigint): bigint {
  return toNs > fromNs ? (toNs - fromNs) / 1000n : 0n;
}

/** The pairing key of a query: who asked (resolver, client address and port), the id and the question. */
export function pairingKey(
  resolver: string,
  client: Uint8Array | undefined,
  clientPort: number,
  message: DnsMessage,
): string {
  const q = message.question;
  return `${resolver}|${addressKey(client)}|${clientPort}|${message.id}|${q?.name ?? ''}|${q?.type ?? 0}`;
}

/** A short string naming an address (IPv4 as one number: cheaper to build and to hash than hex). */
function addressKey(address: Uint8Array | undefined): string {
  if (address === undefined) return '';
  if (address.length === 4)
    return String(((address[0]! << 24) | (address[1]! << 16) | (address[2]! << 8) | address[3]!) >>> 0);
  return Buffer.from(address.buffer, address.byteOffset, address.byteLength).toString('hex');
}

export interface QueryPairerConfig {
  /** Queries waiting for their response at most; the oldest goes out unpaired beyond it. */
  maxPending: number;
  /** How long a query waits for its response, in milliseconds of the caller's clock. */
  timeoutMs: number;
}

export interface QueryPairerStats {
  /** Queries waiting now. */
  pending: number;
  paired: number;
  /** Queries published without a response because none came in time. */
  timedOut: number;
  /** Queries published without a response to make room in a full table. */
  evicted: number;
  /** A second query with the same key (a client retry) pushed the first out unpaired. */
  replaced: number;
  /** Responses with no waiting query, published on their own. */
  unmatchedResponses: number;
}

interface Pending {
  record: DnsQuery;
  expiresAtMs: number;
}

export class QueryPairer {
  private readonly pending = new Map<string, Pending>();
  private readonly counts = { paired: 0, timedOut: 0, evicted: 0, replaced: 0, unmatchedResponses: 0 };

  constructor(
    private readonly config: QueryPairerConfig,
    private readonly emit: (record: DnsQuery) => void,
  ) {}

  /** Holds a query until its response comes (or it times out). */
  query(key: string, record: DnsQuery, nowMs: number): void {
    const previous = this.pending.get(key);
    if (previous !== undefined) {
      this.pending.delete(key);
      this.counts.replaced++;
      this.emit(previous.record);
    } else if (this.pending.size >= this.config.maxPending) {
      const oldest = this.pending.entries().next();
      if (oldest.done !== true) {
        this.pending.delete(oldest.value[0]);
        this.counts.evicted++;
        this.emit(oldest.value[1].record);
      }
    }
    this.pending.set(key, { record, expiresAtMs: nowMs + this.config.timeoutMs });
  }

  /** The waiting query of `key`, removed from the table; undefined when none is waiting. */
  take(key: string): DnsQuery | undefined {
    const found = this.pending.get(key);
    if (found === undefined) {
      this.counts.unmatchedResponses++;
      return undefined;
    }
    this.pending.delete(key);
    this.counts.paired++;
    return found.record;
  }

  /** Publishes, unpaired, the queries whose time is up at `nowMs`. */
  expire(nowMs: number): void {
    for (const [key, entry] of this.pending) {
      // Insertion order is arrival order, so the first one still in time ends the scan; a clock that went
      // backwards only delays expiry.
      if (entry.expiresAtMs > nowMs) break;
      this.pending.delete(key);
      this.counts.timedOut++;
      this.emit(entry.record);
    }
  }

  /** Publishes every waiting query unpaired (stop, end of a replay). */
  flush(): void {
    for (const entry of this.pending.values()) {
      this.counts.timedOut++;
      this.emit(entry.record);
    }
    this.pending.clear();
  }

  stats(): QueryPairerStats {
    return { pending: this.pending.size, ...this.counts };
  }
}
