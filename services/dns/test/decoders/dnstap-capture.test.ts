/**
 * The public dnstap capture (dnsdist: one CLIENT_QUERY and its CLIENT_RESPONSE for www.google.com A)
 * through the Frame Streams file reader, the dnstap decoder and the pairing into one DnsQuery.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { capturesPresent, capturesRoot } from '@kansoku/kit/testing/captures';
import { describe, expect, it } from 'vitest';
import { parseDnsMessage } from '../../src/decoders/dns-wire.ts';
import { DnstapMessageType, decodeDnstap } from '../../src/decoders/dnstap.ts';
import { DnstapQueryAssembler } from '../../src/decoders/dnstap-queries.ts';
import { readFstrmBuffer, readFstrmFile } from '../../src/decoders/fstrm-file.ts';

const present = capturesPresent('dns');
if (!present) console.warn('captures/dns absent: dnstap capture tests skipped');
const file = join(capturesRoot(), 'dns', 'dnstap.fstrm');

describe.skipIf(!present)('dnstap.fstrm (dnsdist capture)', () => {
  it('reads START, two data frames and STOP', async () => {
    const { frames, stopped } = readFstrmBuffer(readFileSync(file));
    expect(stopped).toBe(true);
    expect(frames).toHaveLength(2);
    const seen: number[] = [];
    const result = await readFstrmFile(file, (frame) => {
      seen.push(frame.length);
    });
    expect(result).toEqual({ stopped: true, frames: 2 });
    expect(seen).toEqual(frames.map((f) => f.length));
  });

  it('decodes the query and the response with their embedded DNS messages', () => {
    const [queryFrame, responseFrame] = readFstrmBuffer(readFileSync(file)).frames;
    const query = decodeDnstap(queryFrame!);
    expect(Buffer.from(query.identity!).toString()).toBe('dnsdist');
    expect(query.type).toBe(1);
    const qm = query.message!;
    expect(qm.type).toBe(DnstapMessageType.CLIENT_QUERY);
    expect(qm.socketFamily).toBe(1);
    expect(qm.socketProtocol).toBe(1);
    expect(formatIpAddress(qm.queryAddress!)).toBe('172.19.0.1');
    expect(formatIpAddress(qm.responseAddress!)).toBe('172.19.0.2');
    expect(qm.responsePort).toBe(53);
    const q = parseDnsMessage(qm.queryMessage!);
    expect(q.question).toEqual({ name: 'www.google.com.', type: 1, class: 1 });
    expect(q.response).toBe(false);
    expect(q.recursionDesired).toBe(true);
    expect(q.edns?.udpSize).toBe(1232);

    const response = decodeDnstap(responseFrame!).message!;
    expect(response.type).toBe(DnstapMessageType.CLIENT_RESPONSE);
    const r = parseDnsMessage(response.responseMessage!);
    expect(r.response).toBe(true);
    expect(r.id).toBe(q.id);
    expect(r.rcode).toBe(0);
    expect(r.answerCount).toBe(1);
    expect(r.question?.name).toBe('www.google.com.');
  });

  it('pairs the two into one record with the latency between them', () => {
    const { frames } = readFstrmBuffer(readFileSync(file));
    const records: DnsQuery[] = [];
    const assembler = new DnstapQueryAssembler({ maxPending: 10, timeoutMs: 1000 }, (r) => records.push(r));
    for (const frame of frames) expect(assembler.frame(frame, 1n, 0)).toBeUndefined();
    expect(records).toHaveLength(1);
    const record = records[0]!;
    const query = decodeDnstap(frames[0]!).message!;
    const response = decodeDnstap(frames[1]!).message!;
    const expectedUs =
      (BigInt(response.responseTimeSec) * 1_000_000_000n +
        BigInt(response.responseTimeNsec) -
        (BigInt(query.queryTimeSec) * 1_000_000_000n + BigInt(query.queryTimeNsec))) /
      1000n;
    expect(record).toMatchObject({
      qname: 'www.google.com.',
      qtype: 1,
      qclass: 1,
      clientPort: query.queryPort,
      serverPort: 53,
      ipVersion: 1,
      transport: 1,
      recursionDesired: true,
      responseSeen: true,
      rcode: 0,
      answerCount: 1,
      querySizeBytes: query.queryMessage!.length,
      responseSizeBytes: response.responseMessage!.length,
      responseTimeUs: expectedUs,
      source: 1,
      resolverIdentity: 'dnsdist',
      timeReceivedNs: 1n,
    });
    expect(expectedUs).toBeGreaterThan(0n);
    expect(formatIpAddress(record.clientAddress)).toBe('172.19.0.1');
    expect(assembler.stats().pairing).toMatchObject({ paired: 1, pending: 0 });
    expect(assembler.stats().messagesByType).toEqual({ client_query: 1, client_response: 1 });
  });
});
