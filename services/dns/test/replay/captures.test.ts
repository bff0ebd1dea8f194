/**
 * The public DNS captures (go-dnscollector's test pcaps: UDP, TCP, both, IPv4 and IPv6 fragmented
 * responses) through the capture decoder, with tshark as the oracle: every query and every response it
 * shows must be one of our records, by id, name, type and rcode, and nothing more.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { silentLogger } from '@kansoku/kit';
import { readPcapBuffer } from '@kansoku/kit/pcap/index';
import { captureFiles, capturesRoot, tsharkAvailable } from '@kansoku/kit/testing/captures';
import { describe, expect, it } from 'vitest';
import { CaptureDnsDecoder } from '../../src/replay/capture-decoder.ts';
import { dnsFileKind, replayDnsFile } from '../../src/replay/dns-replay.ts';
import { memoryProducer } from '../collector/helpers.ts';

const pcaps = captureFiles('dns', /\.pcap(ng)?$/);
const haveTshark = tsharkAvailable();
if (pcaps.length === 0) console.warn('captures/dns absent: DNS capture tests skipped');
else if (!haveTshark) console.warn('tshark not installed: DNS capture oracle skipped');

function editcapAvailable(): boolean {
  try {
    execFileSync('editcap', ['-h'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function decode(name: string) {
  const records: DnsQuery[] = [];
  const decoder = new CaptureDnsDecoder(
    { ports: [53], pairingTimeoutMs: 10_000, maxPendingQueries: 1000, resolverIdentity: '' },
    (r) => records.push(r),
  );
  for (const packet of readPcapBuffer(readFileSync(join(capturesRoot(), 'dns', name))))
    decoder.packet(packet);
  decoder.flush();
  return { records, stats: decoder.stats() };
}

/** tshark's DNS messages: `response|id|name|type|rcode` (rcode only for responses). */
function tsharkMessages(name: string): string[] {
  const out = execFileSync(
    'tshark',
    [
      '-r',
      join(capturesRoot(), 'dns', name),
      '-Y',
      'dns',
      '-T',
      'fields',
      '-E',
      'occurrence=f',
      '-e',
      'dns.flags.response',
      '-e',
      'dns.id',
      '-e',
      'dns.qry.name',
      '-e',
      'dns.qry.type',
      '-e',
      'dns.flags.rcode',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return out
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [response = '', id = '', qname = '', type = '', rcode = ''] = line.split('\t');
      const isResponse = response === '1' || response === 'True';
      const absolute = qname === '<Root>' ? '.' : `${qname.toLowerCase()}.`;
      return [
        isResponse ? 'R' : 'Q',
        Number(id),
        absolute,
        Number(type),
        isResponse ? Number(rcode) : '',
      ].join('|');
    })
    .sort();
}

function ourMessages(records: DnsQuery[]): string[] {
  const out: string[] = [];
  for (const r of records) {
    if (r.querySizeBytes > 0) out.push(['Q', r.messageId, r.qname, r.qtype, ''].join('|'));
    if (r.responseSeen) out.push(['R', r.messageId, r.qname, r.qtype, r.rcode].join('|'));
  }
  return out.sort();
}

describe.skipIf(pcaps.length === 0)('DNS captures', () => {
  it.each(pcaps)('%s decodes without errors, every query paired or accounted for', (name) => {
    const { records, stats } = decode(name);
    expect(stats.errors).toEqual({});
    expect(records.length).toBeGreaterThan(0);
    expect(stats.pairing.paired).toBeGreaterThan(0);
    expect(stats.pairing.pending).toBe(0);
    if (name.includes('fragmented')) expect(stats.fragments.reassembled).toBeGreaterThan(0);
    if (name.includes('tcp')) expect(stats.tcp.messages).toBeGreaterThan(0);
    for (const r of records) {
      expect(r.qname.endsWith('.')).toBe(true);
      expect(r.source).toBe(3);
      expect(r.timeQueryNs).toBeGreaterThan(1_500_000_000n * 1_000_000_000n);
      if (r.responseSeen && r.querySizeBytes > 0) expect(r.responseTimeUs).toBeGreaterThan(0n);
    }
  });

  it.skipIf(!haveTshark).each(pcaps)('%s: tshark shows the same queries and responses', (name) => {
    const { records } = decode(name);
    expect(ourMessages(records)).toEqual(tsharkMessages(name));
  });

  it('replays a capture through the publisher; the kind is told by magic', async () => {
    const producer = memoryProducer();
    const name = pcaps.find((p) => p.includes('udp+tcp')) ?? pcaps[0]!;
    const updates: Array<[number, number]> = [];
    let total = 0;
    const summary = await replayDnsFile(
      join(capturesRoot(), 'dns', name),
      {
        topic: 't',
        ports: '53',
        pairingTimeoutMs: 10_000,
        resolverIdentity: 'capture',
        maxQueuedRecords: 1000,
        maxSendRecords: 100,
      },
      {
        producer,
        log: silentLogger(),
        progress: { setTotal: (n) => (total = n), update: (bytes, items) => updates.push([bytes, items]) },
      },
    );
    const { records } = decode(name);
    expect(summary).toMatchObject({
      kind: 'pcap',
      records: records.length,
      published: records.length,
      failed: 0,
    });
    expect(producer.records.map((r) => r.qname)).toEqual(records.map((r) => r.qname));
    expect(producer.records.every((r) => r.resolverIdentity === 'capture')).toBe(true);
    expect(updates.at(-1)).toEqual([total, records.length]);
    expect(dnsFileKind(Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]))).toBe('pcapng');
    expect(dnsFileKind(Buffer.from('not a capture'))).toBeUndefined();
  });

  it.skipIf(!editcapAvailable())('reads the same capture as pcapng (converted by editcap)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kansoku-dns-pcapng-'));
    try {
      const name = pcaps.find((p) => p.includes('ip6_fragmented')) ?? pcaps[0]!;
      const converted = join(dir, 'capture.pcapng');
      execFileSync('editcap', ['-F', 'pcapng', join(capturesRoot(), 'dns', name), converted], {
        stdio: 'ignore',
      });
      const producer = memoryProducer();
      const summary = await replayDnsFile(
        converted,
        {
          topic: 't',
          ports: '53',
          pairingTimeoutMs: 10_000,
          resolverIdentity: '',
          maxQueuedRecords: 1000,
          maxSendRecords: 100,
        },
        { producer, log: silentLogger() },
      );
      const { records } = decode(name);
      expect(summary).toMatchObject({ kind: 'pcapng', records: records.length, errors: 0 });
      expect(producer.records).toEqual(records);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replays the dnstap file', async () => {
    const producer = memoryProducer();
    const summary = await replayDnsFile(
      join(capturesRoot(), 'dns', 'dnstap.fstrm'),
      {
        topic: 't',
        ports: '53',
        pairingTimeoutMs: 10_000,
        resolverIdentity: '',
        maxQueuedRecords: 1000,
        maxSendRecords: 100,
      },
      { producer, log: silentLogger() },
    );
    expect(summary).toMatchObject({ kind: 'fstrm', units: 2, records: 1, paired: 1, published: 1 });
    expect(producer.records[0]).toMatchObject({
      qname: 'www.google.com.',
      resolverIdentity: 'dnsdist',
      responseSeen: true,
    });
  });
});
