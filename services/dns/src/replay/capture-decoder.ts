/**
 * DNS from packet captures: UDP and TCP on the DNS ports, IPv4 and IPv6, fragments reassembled, TCP
 * streams put back together, then the same query/response pairing as dnstap (by client address and port,
 * id and question), on the capture's clock, so a replay pairs the same at any speed. The client is the
 * sender of a query and the receiver of a response.
 *
 * Records carry the capture's times: time_query is the query packet's, time_received the last packet's of
 * the exchange, so replaying the same file twice produces the same records (the processor deduplicates).
 */

import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import { type DecodedPacket, type PcapPacket, tryDecodePacket } from '@kansoku/kit/pcap/index';
import { tryParseDnsMessage } from '../decoders/dns-wire.ts';
import {
  applyQueryMessage,
  applyResponseMessage,
  DnsEventSource,
  DnsTransport,
  elapsedMicros,
  newDnsQuery,
  pairingKey,
  QueryPairer,
  type QueryPairerStats,
} from '../decoders/query-record.ts';
import { IpReassembler, parseUdpDatagram, type ReassemblyStats } from './ip-reassembly.ts';
import { TcpDnsStreams, type TcpStreamStats } from './tcp-streams.ts';

export interface CaptureDecoderConfig {
  /** Ports that carry DNS (either side). */
  ports: number[];
  pairingTimeoutMs: number;
  maxPendingQueries: number;
  /** resolver_identity of every record; empty: the server's address in text. */
  resolverIdentity: string;
}

export interface CaptureDecoderStats {
  packets: number;
  /** DNS messages decoded (queries and responses, UDP and TCP). */
  dnsMessages: number;
  /** Packets or DNS messages that could not be read, by code. */
  errors: Record<string, number>;
  /** Packets not on a DNS port, or neither UDP nor TCP. */
  ignored: number;
  records: number;
  pairing: QueryPairerStats;
  fragments: ReassemblyStats;
  tcp: TcpStreamStats;
}

const NS_PER_MS = 1_000_000n;

interface Endpoint {
  address: string;
  port: number;
}

export class CaptureDnsDecoder {
  private readonly ports: Set<number>;
  private readonly pairer: QueryPairer;
  private readonly reassembler = new IpReassembler({ maxDatagrams: 4096, timeoutMs: 30_000 });
  private readonly tcp: TcpDnsStreams;
  private readonly addressCache = new Map<string, Uint8Array>();
  private readonly counts = { packets: 0, dnsMessages: 0, ignored: 0, records: 0 };
  private readonly errors: Record<string, number> = {};
  private nowNs = 0n;
  private nowMs = 0;

  constructor(
    private readonly config: CaptureDecoderConfig,
    private readonly emit: (record: DnsQuery) => void,
  ) {
    this.ports = new Set(config.ports);
    this.pairer = new QueryPairer(
      { maxPending: config.maxPendingQueries, timeoutMs: config.pairingTimeoutMs },
      (record) => this.out(record),
    );
    this.tcp = new TcpDnsStreams({ maxStreams: 10_000, maxOutOfOrder: 64 }, (message, segment) =>
      this.dns(
        message,
        { address: segment.src, port: segment.srcPort },
        { address: segment.dst, port: segment.dstPort },
        segment.ipVersion,
        DnsTransport.TCP,
      ),
    );
  }

  private out(record: DnsQuery): void {
    this.counts.records++;
    this.emit(record);
  }

  private fail(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  private address(text: string): Uint8Array {
    let bytes = this.addressCache.get(text);
    if (bytes === undefined) {
      bytes = parseIpAddress(text);
      if (this.addressCache.size > 100_000) this.addressCache.clear();
      this.addressCache.set(text, bytes);
    }
    return bytes;
  }

  /** Handles one captured packet. */
  packet(captured: PcapPacket): void {
    this.counts.packets++;
    if (captured.timestampNs > 0n) {
      this.nowNs = captured.timestampNs;
      this.nowMs = Number(captured.timestampNs / NS_PER_MS);
    }
    const decoded = tryDecodePacket(captured.linkType, captured.data);
    if (!decoded.ok) {
      this.fail(decoded.error.code);
      return;
    }
    this.decoded(decoded.packet);
    this.pairer.expire(this.nowMs);
  }

  private decoded(packet: DecodedPacket): void {
    switch (packet.kind) {
      case 'udp':
        if (!this.ports.has(packet.srcPort) && !this.ports.has(packet.dstPort)) break;
        this.dns(
          packet.payload,
          { address: packet.src, port: packet.srcPort },
          { address: packet.dst, port: packet.dstPort },
          packet.ipVersion,
          DnsTransport.UDP,
        );
        return;
      case 'tcp':
        if (!this.ports.has(packet.srcPort) && !this.ports.has(packet.dstPort)) break;
        this.tcp.segment(packet);
        return;
      case 'fragment': {
        if (packet.protocol !== 17) break; // TCP is not fragmented in practice (PMTU discovery)
        const whole = this.reassembler.add(packet, this.nowMs);
        if (whole === undefined) return;
        const udp = parseUdpDatagram(whole);
        if (udp === undefined) {
          this.fail('KANSOKU_DNS_CAPTURE_BAD_UDP');
          return;
        }
        if (!this.ports.has(udp.srcPort) && !this.ports.has(udp.dstPort)) break;
        this.dns(
          udp.data,
          { address: packet.src, port: udp.srcPort },
          { address: packet.dst, port: udp.dstPort },
          packet.ipVersion,
          DnsTransport.UDP,
        );
        return;
      }
      default:
        break;
    }
    this.counts.ignored++;
  }

  private dns(payload: Buffer, src: Endpoint, dst: Endpoint, ipVersion: 4 | 6, transport: number): void {
    const parsed = tryParseDnsMessage(payload);
    if (!parsed.ok) {
      this.fail(parsed.error.code);
      return;
    }
    const message = parsed.message;
    this.counts.dnsMessages++;
    if (message.question === undefined) {
      this.fail('KANSOKU_DNS_NO_QUESTION');
      return;
    }
    const client = message.response ? dst : src;
    const server = message.response ? src : dst;
    const clientAddress = this.address(client.address);
    const identity = this.config.resolverIdentity || server.address;
    const key = pairingKey(identity, clientAddress, client.port, message);
    if (!message.response) {
      const record = newDnsQuery();
      record.timeQueryNs = this.nowNs;
      record.timeReceivedNs = this.nowNs;
      record.clientAddress = clientAddress;
      record.clientPort = client.port;
      record.serverAddress = this.address(server.address);
      record.serverPort = server.port;
      record.ipVersion = ipVersion === 4 ? 1 : 2;
      record.transport = transport;
      record.source = DnsEventSource.PCAP;
      record.resolverIdentity = identity;
      applyQueryMessage(record, message);
      this.pairer.query(key, record, this.nowMs);
      return;
    }
    let record = this.pairer.take(key);
    const hadQuery = record !== undefined;
    if (record === undefined) {
      // The capture started after the query, or missed it: the response alone, latency unknown.
      record = newDnsQuery();
      record.timeQueryNs = this.nowNs;
      record.clientAddress = clientAddress;
      record.clientPort = client.port;
      record.serverAddress = this.address(server.address);
      record.serverPort = server.port;
      record.ipVersion = ipVersion === 4 ? 1 : 2;
      record.transport = transport;
      record.source = DnsEventSource.PCAP;
      record.resolverIdentity = identity;
    } else {
      record.responseTimeUs = elapsedMicros(record.timeQueryNs, this.nowNs);
    }
    record.timeReceivedNs = this.nowNs;
    applyResponseMessage(record, message, hadQuery);
    this.out(record);
  }

  /** End of the capture: queries still waiting go out without a response. */
  flush(): void {
    this.pairer.flush();
  }

  stats(): CaptureDecoderStats {
    return {
      ...this.counts,
      errors: { ...this.errors },
      pairing: this.pairer.stats(),
      fragments: this.reassembler.stats(),
      tcp: this.tcp.stats(),
    };
  }
}
