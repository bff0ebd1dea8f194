/**
 * Resolver query-log lines → DnsQuery records.
 *
 * Unbound (`log-queries`, `log-replies`; timestamps `[epoch]` or, with `log-time-ascii`, `Mmm dd hh:mm:ss`
 * in local time; tag `info:` or, with `log-tag-queryreply`, `query:` / `reply:`):
 *   [1795566013] unbound[17152:0] info: 127.0.0.1 www.example.test. A IN
 *   [1795566013] unbound[17152:0] info: 127.0.0.1 www.example.test. A IN NOERROR 0.000000 1 61
 *     (reply: rcode, seconds taken, served from cache, response size)
 * BIND (`querylog`, a `queries` channel; print-time / category / severity optional):
 *   25-Nov-2026 00:20:48.752 queries: info: client @0x7f… 127.0.0.1#42845 (www.example.test): query:
 *     www.example.test IN A +E(0)K (127.0.0.1)
 *     (flags: + recursion desired, S signed, E(n) EDNS, T TCP, D DNSSEC OK, C checking disabled, K/V cookie)
 * Both also through syslog, where the line's own time and program name are in the syslog header: the
 * parser finds the resolver's part wherever it starts.
 *
 * Unbound logs a query and, later, its reply, with neither id nor port: the reply is matched to the oldest
 * waiting query of the same client, name, type and class, and carries rcode, duration and size. A query
 * with no reply line (log-replies off, or lost) is published alone after the timeout. BIND logs queries
 * only: each is a record without response.
 */

import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { rcodeNumber, rrClassNumber, rrTypeNumber } from './dns-names.ts';
import { DnsEventSource, DnsTransport, elapsedMicros, ipVersionOf, newDnsQuery } from './query-record.ts';

export type QueryLogFormat = 'unbound' | 'bind';

export interface QueryLogLine {
  format: QueryLogFormat;
  kind: 'query' | 'reply';
  /** The line's own time; undefined when it has none (syslog bodies). */
  timeNs: bigint | undefined;
  client: Uint8Array;
  clientPort: number;
  server: Uint8Array | undefined;
  qname: string;
  qtype: number;
  qclass: number;
  recursionDesired: boolean;
  dnssecOk: boolean;
  tcp: boolean;
  rcode: number;
  durationUs: bigint;
  responseSize: number;
}

/** Why a line was not turned into a query or reply. */
export type UnparsedReason =
  | 'unknown-format'
  /** A resolver line that is not a query or reply (start of service, warnings). */
  | 'other-line'
  /** A query or reply line with a field that does not read (address, type, class, rcode, time). */
  | 'bad-field';

export type ParsedLine = { ok: true; line: QueryLogLine } | { ok: false; reason: UnparsedReason };

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

const NS_PER_MS = 1_000_000n;

const UNBOUND =
  /\[\d+:\d+\] (info|query|reply): (\S+) (\S+) (\S+) (\S+)(?: (\S+) (\d+)\.(\d{1,9}) (\d+) (\d+))?$/;
const UNBOUND_EPOCH = /^\[(\d{9,11})\] /;
const ASCII_TIME = /^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) /;
const BIND =
  /client (?:@0x[0-9a-f]+ )?([0-9a-fA-F.:]+)#(\d+)(?: \([^)]*\))?: (?:view [^:]+: )?query: (\S+) (\S+) (\S+) ([+-])(\S*) \(([0-9a-fA-F.:]+)\)/;
const BIND_TIME = /^(\d\d)-([A-Z][a-z]{2})-(\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d{3}))? /;

/** `Mmm dd hh:mm:ss` in local time of the year that puts it closest before `now` (at most a day ahead). */
export function asciiTimeNs(month: number, day: number, h: number, m: number, s: number, now: Date): bigint {
  let date = new Date(now.getFullYear(), month, day, h, m, s);
  if (date.getTime() > now.getTime() + 86_400_000)
    date = new Date(now.getFullYear() - 1, month, day, h, m, s);
  return BigInt(date.getTime()) * NS_PER_MS;
}

/** Lower-cased (ASCII only, RFC 4343), absolute presentation name. */
function absoluteName(text: string): string {
  const lower = text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (lower === '.' || lower === '') return '.';
  return lower.endsWith('.') && !lower.endsWith('\\.') ? lower : `${lower}.`;
}

function address(text: string): Uint8Array | undefined {
  try {
    return parseIpAddress(text.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1'));
  } catch {
    return undefined;
  }
}

function parseUnbound(text: string, match: RegExpExecArray, now: Date): ParsedLine {
  const [, tag, clientText, name, typeText, classText, rcodeText, secs, fraction, , size] = match;
  const isReply = rcodeText !== undefined;
  if ((tag === 'query' && isReply) || (tag === 'reply' && !isReply))
    return { ok: false, reason: 'other-line' };
  const client = address(clientText!);
  if (client === undefined) return { ok: false, reason: tag === 'info' ? 'other-line' : 'bad-field' };
  const qtype = rrTypeNumber(typeText!);
  const qclass = rrClassNumber(classText!);
  const rcode = isReply ? rcodeNumber(rcodeText) : 0;
  if (qtype === undefined || qclass === undefined || rcode === undefined)
    return { ok: false, reason: 'bad-field' };
  let timeNs: bigint | undefined;
  const epoch = UNBOUND_EPOCH.exec(text);
  if (epoch) timeNs = BigInt(epoch[1]!) * 1_000_000_000n;
  else {
    const ascii = ASCII_TIME.exec(text);
    if (ascii) {
      timeNs = asciiTimeNs(
        MONTHS[ascii[1]!] ?? 0,
        Number(ascii[2]),
        Number(ascii[3]),
        Number(ascii[4]),
        Number(ascii[5]),
        now,
      );
    }
  }
  const durationUs = isReply ? BigInt(secs!) * 1_000_000n + BigInt(fraction!.padEnd(9, '0').slice(0, 6)) : 0n;
  return {
    ok: true,
    line: {
      format: 'unbound',
      kind: isReply ? 'reply' : 'query',
      timeNs,
      client,
      clientPort: 0,
      server: undefined,
      qname: absoluteName(name!),
      qtype,
      qclass,
      recursionDesired: false,
      dnssecOk: false,
      tcp: false,
      rcode,
      durationUs,
      responseSize: isReply ? Number(size) : 0,
    },
  };
}

function parseBind(text: string, match: RegExpExecArray): ParsedLine {
  const [, clientText, port, name, classText, typeText, rd, flags, serverText] = match;
  const client = address(clientText!);
  const qtype = rrTypeNumber(typeText!);
  const qclass = rrClassNumber(classText!);
  if (client === undefined || qtype === undefined || qclass === undefined)
    return { ok: false, reason: 'bad-field' };
  let timeNs: bigint | undefined;
  const t = BIND_TIME.exec(text);
  if (t) {
    const ms = new Date(
      Number(t[3]),
      MONTHS[t[2]!] ?? 0,
      Number(t[1]),
      Number(t[4]),
      Number(t[5]),
      Number(t[6]),
      Number(t[7] ?? 0),
    ).getTime();
    timeNs = BigInt(ms) * NS_PER_MS;
  }
  return {
    ok: true,
    line: {
      format: 'bind',
      kind: 'query',
      timeNs,
      client,
      clientPort: Number(port),
      server: address(serverText!),
      qname: absoluteName(name!),
      qtype,
      qclass,
      recursionDesired: rd === '+',
      dnssecOk: flags!.includes('D'),
      tcp: flags!.includes('T'),
      rcode: 0,
      durationUs: 0n,
      responseSize: 0,
    },
  };
}

/** Parses one line (without its newline). `now` places year-less timestamps. */
export function parseQueryLogLine(text: string, now: Date = new Date()): ParsedLine {
  const trimmed = text.endsWith('\r') ? text.slice(0, -1) : text;
  if (trimmed.includes('query: ') && trimmed.includes('client ')) {
    const bind = BIND.exec(trimmed);
    if (bind) return parseBind(trimmed, bind);
  }
  const unbound = UNBOUND.exec(trimmed);
  if (unbound) return parseUnbound(trimmed, unbound, now);
  if (/\[\d+:\d+\] \w+: /.test(trimmed) || /\bqueries: |\bclient @0x/.test(trimmed))
    return { ok: false, reason: 'other-line' };
  return { ok: false, reason: 'unknown-format' };
}

export interface QueryLogAssemblerConfig {
  /** How long (line time) an Unbound query waits for its reply line. */
  pairingTimeoutMs: number;
  maxPending: number;
}

export interface QueryLogStats {
  lines: number;
  queries: number;
  replies: number;
  records: number;
  /** Lines that were not a query or reply, by reason. */
  unparsed: Record<string, number>;
  /** Unbound queries paired with their reply line. */
  paired: number;
  /** Queries published without a reply line (timed out or evicted). */
  unpaired: number;
  /** Reply lines with no waiting query (log-queries off, or the query was before the start). */
  repliesAlone: number;
  pending: number;
}

interface Waiting {
  key: string;
  record: DnsQuery;
  expiresAtMs: number;
  done: boolean;
}

/**
 * Turns lines into records, pairing Unbound's query and reply lines. Its clock is the lines' time (a
 * file read from its start pairs as it was written); `expire` moves it on when lines stop.
 */
export class QueryLogAssembler {
  private readonly waiting = new Map<string, Waiting[]>();
  /** Every waiting query in arrival order, for expiry; entries done are skipped. */
  private order: Waiting[] = [];
  private orderHead = 0;
  private live = 0;
  private readonly counts = {
    lines: 0,
    queries: 0,
    replies: 0,
    records: 0,
    paired: 0,
    unpaired: 0,
    repliesAlone: 0,
  };
  private readonly unparsed: Record<string, number> = {};
  /** Time of the latest line, ms. */
  private clockMs = 0;

  constructor(
    private readonly config: QueryLogAssemblerConfig,
    private readonly emit: (record: DnsQuery) => void,
  ) {}

  /**
   * Handles one line from `origin` (resolver identity: the host name of a syslog sender, or configured),
   * received at `receivedNs`; `headerTimeNs` is a syslog header's time, used when the line has none.
   * Returns the reason when the line was not a query or reply.
   */
  line(text: string, origin: string, receivedNs: bigint, headerTimeNs?: bigint): UnparsedReason | undefined {
    this.counts.lines++;
    const parsed = parseQueryLogLine(text, new Date(Number(receivedNs / NS_PER_MS)));
    if (!parsed.ok) {
      this.unparsed[parsed.reason] = (this.unparsed[parsed.reason] ?? 0) + 1;
      return parsed.reason;
    }
    const l = parsed.line;
    const timeNs = l.timeNs ?? headerTimeNs ?? receivedNs;
    const timeMs = Number(timeNs / NS_PER_MS);
    if (timeMs > this.clockMs) this.clockMs = timeMs;
    const key = `${origin}|${Buffer.from(l.client).toString('hex')}|${l.qname}|${l.qtype}|${l.qclass}`;
    if (l.kind === 'query') {
      this.counts.queries++;
      const record = this.record(l, origin, timeNs, receivedNs);
      if (l.format === 'bind') {
        this.out(record);
      } else {
        this.hold(key, record);
      }
    } else {
      this.counts.replies++;
      const held = this.take(key);
      let record: DnsQuery;
      if (held !== undefined) {
        this.counts.paired++;
        record = held;
      } else {
        this.counts.repliesAlone++;
        // The query's time: the reply's less the time it took.
        record = this.record(l, origin, timeNs - l.durationUs * 1000n, receivedNs);
      }
      record.responseSeen = true;
      record.rcode = l.rcode;
      record.responseSizeBytes = l.responseSize;
      // Unbound's duration is measured by the resolver itself; line times are whole seconds.
      record.responseTimeUs = l.durationUs > 0n ? l.durationUs : elapsedMicros(record.timeQueryNs, timeNs);
      this.out(record);
    }
    this.expire(this.clockMs);
    return undefined;
  }

  private record(l: QueryLogLine, origin: string, timeNs: bigint, receivedNs: bigint): DnsQuery {
    const record = newDnsQuery();
    record.timeQueryNs = timeNs;
    record.timeReceivedNs = receivedNs;
    record.clientAddress = l.client;
    record.clientPort = l.clientPort;
    if (l.server !== undefined) record.serverAddress = l.server;
    record.ipVersion = ipVersionOf(l.client);
    record.transport =
      l.format === 'bind' ? (l.tcp ? DnsTransport.TCP : DnsTransport.UDP) : DnsTransport.UNSPECIFIED;
    record.qname = l.qname;
    record.qtype = l.qtype;
    record.qclass = l.qclass;
    record.recursionDesired = l.recursionDesired;
    record.dnssecOk = l.dnssecOk;
    record.source = DnsEventSource.QUERY_LOG;
    record.resolverIdentity = origin;
    return record;
  }

  private out(record: DnsQuery): void {
    this.counts.records++;
    this.emit(record);
  }

  private hold(key: string, record: DnsQuery): void {
    if (this.live >= this.config.maxPending) this.expireOldest();
    const entry: Waiting = {
      key,
      record,
      expiresAtMs: this.clockMs + this.config.pairingTimeoutMs,
      done: false,
    };
    let list = this.waiting.get(key);
    if (list === undefined) {
      list = [];
      this.waiting.set(key, list);
    }
    list.push(entry);
    this.order.push(entry);
    this.live++;
  }

  private take(key: string): DnsQuery | undefined {
    const list = this.waiting.get(key);
    const entry = list?.shift();
    if (entry === undefined) return undefined;
    if (list!.length === 0) this.waiting.delete(key);
    entry.done = true;
    this.live--;
    return entry.record;
  }

  private release(entry: Waiting): void {
    entry.done = true;
    this.live--;
    const list = this.waiting.get(entry.key);
    if (list !== undefined) {
      const at = list.indexOf(entry);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) this.waiting.delete(entry.key);
    }
    this.counts.unpaired++;
    this.out(entry.record);
  }

  private expireOldest(): void {
    while (this.orderHead < this.order.length) {
      const entry = this.order[this.orderHead++]!;
      if (!entry.done) {
        this.release(entry);
        break;
      }
    }
    this.compact();
  }

  private compact(): void {
    if (this.orderHead > 1024 && this.orderHead * 2 > this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderHead = 0;
    }
  }

  /** Publishes queries whose reply line has not come by `nowMs` (line time). */
  expire(nowMs: number): void {
    while (this.orderHead < this.order.length) {
      const entry = this.order[this.orderHead]!;
      if (!entry.done && entry.expiresAtMs > nowMs) break;
      this.orderHead++;
      if (!entry.done) this.release(entry);
    }
    this.compact();
  }

  /** The line clock: the latest line's time, in ms. */
  clock(): number {
    return this.clockMs;
  }

  /** Publishes every waiting query. */
  flush(): void {
    this.expire(Number.POSITIVE_INFINITY);
  }

  stats(): QueryLogStats {
    return { ...this.counts, unparsed: { ...this.unparsed }, pending: this.live };
  }
}
