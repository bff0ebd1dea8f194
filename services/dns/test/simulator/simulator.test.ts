/**
 * The simulator's shape (the report's per-source curve, query-type mix per transport, sources asking A/AAAA)
 * and its wire output, decoded with the collector's own decoders (an independent reader of the same schemas).
 */
import { describe, expect, it } from 'vitest';
import { parseDnsMessage } from '../../src/decoders/dns-wire.ts';
import { decodeDnstap } from '../../src/decoders/dnstap.ts';
import { FrameStreamParser } from '../../src/decoders/frame-streams.ts';
import { CLIENT_QUERY, CLIENT_RESPONSE, encodeQueryFrames } from '../../src/simulator/dnstap-encoder.ts';
import { controlFrame, dataFrames } from '../../src/simulator/frame-stream-client.ts';
import {
  HOURLY_QPS_PER_SOURCE,
  profileMix,
  qpsPerSourceAt,
  REPORT_MIX,
} from '../../src/simulator/profile.ts';
import { createQueryGenerator } from '../../src/simulator/query-generator.ts';

describe('report profile', () => {
  it('has the report’s per-source curve: 0.08/s on average, 0.04 at 04:00, 0.13 at 21:00', () => {
    const mean = HOURLY_QPS_PER_SOURCE.reduce((a, b) => a + b, 0) / 24;
    expect(mean).toBeCloseTo(0.08, 3);
    expect(qpsPerSourceAt(4)).toBe(0.04);
    expect(qpsPerSourceAt(21)).toBe(0.13);
    expect(Math.min(...HOURLY_QPS_PER_SOURCE)).toBe(0.04);
    expect(Math.max(...HOURLY_QPS_PER_SOURCE)).toBe(0.13);
    expect(qpsPerSourceAt(23.5)).toBeCloseTo((0.104 + 0.083) / 2, 9);
  });

  it('solves source profiles that reproduce the mix exactly (in expectation)', () => {
    for (const v of [4, 6] as const) {
      const target = REPORT_MIX[v];
      const { profiles } = profileMix(target);
      const a = profiles.reduce((n, p) => n + p.share * p.profile.pA, 0);
      const aaaa = profiles.reduce((n, p) => n + p.share * p.profile.pAaaa, 0);
      const askA = profiles.filter((p) => p.profile.pA > 0).reduce((n, p) => n + p.share, 0);
      const askAaaa = profiles.filter((p) => p.profile.pAaaa > 0).reduce((n, p) => n + p.share, 0);
      expect(a).toBeCloseTo(target.a, 9);
      expect(aaaa).toBeCloseTo(target.aaaa, 9);
      expect(askA).toBeCloseTo(target.sourcesA, 9);
      expect(askAaaa).toBeCloseTo(target.sourcesAaaa, 9);
    }
    expect(() => profileMix({ a: 0.1, aaaa: 0.89, other: 0.01, sourcesA: 0.96, sourcesAaaa: 0.2 })).toThrow(
      RangeError,
    );
  });
});

describe('query generator', () => {
  it('draws the report’s query-type mix per transport and the share of sources asking A and AAAA', () => {
    const g = createQueryGenerator({
      seed: 7,
      sources: 3000,
      ipv6Share: 0.4,
      nxdomainShare: 0.03,
      servfailShare: 0.002,
      unansweredShare: 0.001,
      activitySigma: 0,
      zones: 500,
    });
    const types = { 4: new Map<number, number>(), 6: new Map<number, number>() };
    const asked = new Map<string, { v: 4 | 6; a: boolean; aaaa: boolean }>();
    let nx = 0;
    const N = 600_000;
    for (let i = 0; i < N; i++) {
      const q = g.next(1_700_000_000_000 + i);
      const v = q.client.length === 16 ? 6 : 4;
      types[v].set(q.qtype, (types[v].get(q.qtype) ?? 0) + 1);
      const key = Buffer.from(q.client).toString('hex');
      const s = asked.get(key) ?? { v, a: false, aaaa: false };
      if (q.qtype === 1) s.a = true;
      if (q.qtype === 28) s.aaaa = true;
      asked.set(key, s);
      if (q.rcode === 3) nx++;
    }
    for (const v of [4, 6] as const) {
      const total = [...types[v].values()].reduce((a, b) => a + b, 0);
      expect((types[v].get(1) ?? 0) / total).toBeCloseTo(REPORT_MIX[v].a, 1);
      expect(Math.abs((types[v].get(1) ?? 0) / total - REPORT_MIX[v].a)).toBeLessThan(0.01);
      expect(Math.abs((types[v].get(28) ?? 0) / total - REPORT_MIX[v].aaaa)).toBeLessThan(0.01);
      const sources = [...asked.values()].filter((s) => s.v === v);
      expect(
        Math.abs(sources.filter((s) => s.a).length / sources.length - REPORT_MIX[v].sourcesA),
      ).toBeLessThan(0.02);
      expect(
        Math.abs(sources.filter((s) => s.aaaa).length / sources.length - REPORT_MIX[v].sourcesAaaa),
      ).toBeLessThan(0.03);
    }
    expect(asked.size).toBe(3000);
    expect(nx / N).toBeGreaterThan(0.02);
    expect(nx / N).toBeLessThan(0.04);
  });
});

describe('dnstap encoding', () => {
  it('writes CLIENT_QUERY/CLIENT_RESPONSE frames the collector’s decoders read back', () => {
    const q = {
      timeMs: 1_700_000_000_123.5,
      responseUs: 2500,
      client: Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]),
      clientPort: 40_001,
      server: Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53]),
      serverPort: 53,
      protocol: 1,
      id: 4242,
      qname: 'www.Example.co.jp.',
      qtype: 28,
      rcode: 0,
      answers: 2,
    };
    const [queryFrame, responseFrame] = encodeQueryFrames(q, Buffer.from('r1'));
    const query = decodeDnstap(queryFrame as Buffer);
    expect(Buffer.from(query.identity ?? []).toString()).toBe('r1');
    expect(query.message).toMatchObject({
      type: CLIENT_QUERY,
      socketFamily: 2,
      socketProtocol: 1,
      queryPort: 40_001,
      responsePort: 53,
      queryTimeSec: 1_700_000_000,
      queryTimeNsec: 123_500_000,
    });
    expect(Buffer.from(query.message?.queryAddress ?? []).equals(Buffer.from(q.client))).toBe(true);
    const qm = parseDnsMessage(query.message?.queryMessage ?? new Uint8Array());
    expect(qm).toMatchObject({ id: 4242, response: false, recursionDesired: true, incomplete: false });
    expect(qm.question).toEqual({ name: 'www.example.co.jp.', type: 28, class: 1 });
    expect(qm.edns?.udpSize).toBe(4096);

    const response = decodeDnstap(responseFrame as Buffer);
    expect(response.message).toMatchObject({
      type: CLIENT_RESPONSE,
      responseTimeSec: 1_700_000_000,
      responseTimeNsec: 126_000_000,
    });
    const rm = parseDnsMessage(response.message?.responseMessage ?? new Uint8Array());
    expect(rm).toMatchObject({ id: 4242, response: true, rcode: 0, answerCount: 2, incomplete: false });
    const nx = parseDnsMessage(
      decodeDnstap(encodeQueryFrames({ ...q, rcode: 3 }, Buffer.alloc(0))[1] as Buffer).message
        ?.responseMessage ?? new Uint8Array(),
    );
    expect(nx).toMatchObject({ rcode: 3, answerCount: 0 });
    expect(encodeQueryFrames({ ...q, responseUs: undefined }, Buffer.alloc(0))).toHaveLength(1);
  });

  it('frames data and control frames as Frame Streams', () => {
    const payloads: Buffer[] = [];
    const controls: number[] = [];
    const parser = new FrameStreamParser(1 << 20);
    parser.push(
      Buffer.concat([
        controlFrame(2, 'protobuf:dnstap.Dnstap'),
        dataFrames([Buffer.from('ab'), Buffer.from('cde')]),
        controlFrame(3),
      ]),
      { data: (p) => payloads.push(Buffer.from(p)), control: (c) => controls.push(c.type) },
    );
    expect(controls).toEqual([2, 3]);
    expect(payloads.map((p) => p.toString())).toEqual(['ab', 'cde']);
  });
});
