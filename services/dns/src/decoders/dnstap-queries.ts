/**
 * dnstap frames → DnsQuery records. Client-facing messages only: CLIENT_QUERY/CLIENT_RESPONSE (resolvers,
 * forwarders) and AUTH_QUERY/AUTH_RESPONSE (authoritative servers). A resolver's own upstream traffic
 * (RESOLVER_*, FORWARDER_*, STUB_*) is counted by type and not published: it would count every cache
 * miss twice.
 *
 * A response that carries its query (both messages in one frame) makes a record at once; otherwise the
 * query waits in the pairing table for its response, keyed by resolver, client address and port, id and
 * question. Never throws on malformed input: `frame()` returns the error code, which the caller counts per
 * sender.
 */

import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { type DnsMessage, DnsWireError, parseDnsMessage } from './dns-wire.ts';
import {
  type Dnstap,
  DnstapDecodeError,
  type DnstapMessage,
  DnstapMessageType,
  decodeDnstap,
  dnstapMessageTypeName,
  SocketProtocol,
} from './dnstap.ts';
import {
  applyQueryMessage,
  applyResponseMessage,
  DnsEventSource,
  DnsTransport,
  elapsedMicros,
  IpVersion,
  ipVersionOf,
  newDnsQuery,
  pairingKey,
  QueryPairer,
  type QueryPairerConfig,
  type QueryPairerStats,
} from './query-record.ts';

export interface DnstapAssemblerStats {
  frames: number;
  /** Messages decoded, by lower-case Message.type name (client_query, resolver_response, …). */
  messagesByType: Record<string, number>;
  /** Frames or embedded DNS messages that could not be read, by error code. */
  decodeErrors: Record<string, number>;
  /** Records handed on (paired, unpaired and complete). */
  records: number;
  pairing: QueryPairerStats;
}

const QUERY_TYPES = new Set<number>([DnstapMessageType.CLIENT_QUERY, DnstapMessageType.AUTH_QUERY]);
const RESPONSE_TYPES = new Set<number>([DnstapMessageType.CLIENT_RESPONSE, DnstapMessageType.AUTH_RESPONSE]);

const TRANSPORT_BY_PROTOCOL: Record<number, number> = {
  [SocketProtocol.UDP]: DnsTransport.UDP,
  [SocketProtocol.TCP]: DnsTransport.TCP,
  [SocketProtocol.DOT]: DnsTransport.DOT,
  [SocketProtocol.DOH]: DnsTransport.DOH,
  [SocketProtocol.DNSCRYPT_UDP]: DnsTransport.UDP,
  [SocketProtocol.DNSCRYPT_TCP]: DnsTransport.TCP,
  [SocketProtocol.DOQ]: DnsTransport.DOQ,
};

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Seconds beyond this (year 2286) cannot be a real time and would overflow uint64 nanoseconds later on. */
const MAX_TIME_SEC = 9_999_999_999;

/** A dnstap time in nanoseconds; `fallback` when absent or impossible (nanoseconds of a second or more). */
export function dnstapTimeNs(sec: number, nsec: number, fallback: bigint): bigint {
  if (sec === 0 || sec > MAX_TIME_SEC || nsec >= 1_000_000_000) return fallback;
  return BigInt(sec) * 1_000_000_000n + BigInt(nsec);
}

const timeNs = dnstapTimeNs;

export class DnstapQueryAssembler {
  private readonly pairer: QueryPairer;
  private readonly counts = { frames: 0, records: 0 };
  private readonly messagesByType: Record<string, number> = {};
  private readonly decodeErrors: Record<string, number> = {};
  /** Identity bytes → text, for the last identity seen (a connection sends one identity). */
  private lastIdentity: Uint8Array | undefined;
  private lastIdentityText = '';
  /**
   * The last server address, shared by the records that carry it (a resolver answers on a handful of
   * addresses): one copy instead of one per record. Records are never modified once handed on.
   */
  private lastServer: Uint8Array | undefined;

  constructor(
    config: QueryPairerConfig,
    private readonly emit: (record: DnsQuery) => void,
  ) {
    this.pairer = new QueryPairer(config, (record) => this.out(record));
  }

  private out(record: DnsQuery): void {
    this.counts.records++;
    this.emit(record);
  }

  private fail(code: string): string {
    this.decodeErrors[code] = (this.decodeErrors[code] ?? 0) + 1;
    return code;
  }

  private identity(tap: Dnstap): string {
    const bytes = tap.identity;
    if (bytes === undefined) return '';
    if (this.lastIdentity !== undefined && Buffer.compare(this.lastIdentity, bytes) === 0)
      return this.lastIdentityText;
    this.lastIdentity = Uint8Array.from(bytes);
    this.lastIdentityText = utf8.decode(bytes);
    return this.lastIdentityText;
  }

  /**
   * Handles one dnstap frame received at `receivedNs` (wall clock) when the pairing clock says `nowMs`.
   * Returns undefined, or the error code of what could not be read.
   */
  frame(payload: Uint8Array, receivedNs: bigint, nowMs: number): string | undefined {
    this.counts.frames++;
    let tap: Dnstap;
    try {
      tap = decodeDnstap(payload);
    } catch (error) {
      if (error instanceof DnstapDecodeError) return this.fail(error.code);
      throw error;
    }
    return this.message(tap, tap.message!, receivedNs, nowMs);
  }

  /** Handles an already decoded dnstap message (file replays share this path). */
  message(tap: Dnstap, m: DnstapMessage, receivedNs: bigint, nowMs: number): string | undefined {
    const typeName = dnstapMessageTypeName(m.type);
    this.messagesByType[typeName] = (this.messagesByType[typeName] ?? 0) + 1;
    const isQuery = QUERY_TYPES.has(m.type);
    if (!isQuery && !RESPONSE_TYPES.has(m.type)) return undefined;

    let query: DnsMessage | undefined;
    let response: DnsMessage | undefined;
    try {
      if (m.queryMessage !== undefined) query = parseDnsMessage(m.queryMessage);
      if (!isQuery && m.responseMessage !== undefined) response = parseDnsMessage(m.responseMessage);
    } catch (error) {
      if (error instanceof DnsWireError) return this.fail(error.code);
      throw error;
    }
    const main = isQuery ? query : response;
    if (main === undefined)
      return this.fail(isQuery ? 'KANSOKU_DNSTAP_NO_QUERY' : 'KANSOKU_DNSTAP_NO_RESPONSE');
    if (main.question === undefined) return this.fail('KANSOKU_DNS_NO_QUESTION');

    const resolver = this.identity(tap);
    const queryTime = timeNs(m.queryTimeSec, m.queryTimeNsec, receivedNs);
    const key = pairingKey(resolver, m.queryAddress, m.queryPort, main);

    if (isQuery) {
      const record = this.base(m, resolver, receivedNs);
      record.timeQueryNs = queryTime;
      applyQueryMessage(record, main);
      this.pairer.query(key, record, nowMs);
      return undefined;
    }

    const responseTime = timeNs(m.responseTimeSec, m.responseTimeNsec, receivedNs);
    let record = query === undefined ? this.pairer.take(key) : undefined;
    if (record !== undefined) {
      applyResponseMessage(record, main, true);
      record.responseTimeUs = elapsedMicros(record.timeQueryNs, responseTime);
    } else {
      record = this.base(m, resolver, receivedNs);
      if (query !== undefined) applyQueryMessage(record, query);
      applyResponseMessage(record, main, query !== undefined);
      // Without the query's time the latency is unknown: left 0.
      const hasQueryTime = timeNs(m.queryTimeSec, m.queryTimeNsec, -1n) >= 0n;
      record.timeQueryNs = hasQueryTime ? queryTime : responseTime;
      if (hasQueryTime) record.responseTimeUs = elapsedMicros(queryTime, responseTime);
    }
    this.out(record);
    return undefined;
  }

  private base(m: DnstapMessage, resolver: string, receivedNs: bigint): DnsQuery {
    const record = newDnsQuery();
    record.timeReceivedNs = receivedNs;
    if (m.queryAddress !== undefined) record.clientAddress = Uint8Array.from(m.queryAddress);
    record.clientPort = m.queryPort;
    if (m.responseAddress !== undefined) record.serverAddress = this.server(m.responseAddress);
    record.serverPort = m.responsePort;
    record.ipVersion =
      m.socketFamily === 1 ? IpVersion.V4 : m.socketFamily === 2 ? IpVersion.V6 : ipVersionOf(m.queryAddress);
    record.transport = TRANSPORT_BY_PROTOCOL[m.socketProtocol] ?? DnsTransport.UNSPECIFIED;
    record.source = DnsEventSource.DNSTAP;
    record.resolverIdentity = resolver;
    return record;
  }

  private server(bytes: Uint8Array): Uint8Array {
    const last = this.lastServer;
    if (last !== undefined && last.length === bytes.length && Buffer.compare(last, bytes) === 0) return last;
    this.lastServer = Uint8Array.from(bytes);
    return this.lastServer;
  }

  /** Publishes queries that waited longer than the timeout. */
  expire(nowMs: number): void {
    this.pairer.expire(nowMs);
  }

  /** Publishes every waiting query unpaired. */
  flush(): void {
    this.pairer.flush();
  }

  stats(): DnstapAssemblerStats {
    return {
      frames: this.counts.frames,
      messagesByType: { ...this.messagesByType },
      decodeErrors: { ...this.decodeErrors },
      records: this.counts.records,
      pairing: this.pairer.stats(),
    };
  }
}
