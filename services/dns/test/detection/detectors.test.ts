import { create } from '@bufbuild/protobuf';
import { DnsQuerySchema, IpVersion } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { parseIpAddress } from '@kansoku/contracts/ip-address';
import type { Detection } from '@kansoku/kit';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import {
  type ClientRateSpikeConfig,
  createClientRateSpikeDetector,
} from '../../src/detection/client-rate-spike.ts';
import {
  createDnsDetectors,
  type DnsDetectorConfig,
  dnsDetectorSchema,
} from '../../src/detection/detector-service.ts';
import { labelEntropy, randomLookingLabel } from '../../src/detection/labels.ts';
import { createRandomSubdomainDetector } from '../../src/detection/random-subdomain.ts';
import { createServfailSurgeDetector } from '../../src/detection/servfail-surge.ts';

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 60_000);
const MIN = 60_000;

function collector() {
  const out: Detection[] = [];
  return { out, emitter: { emit: (d: Detection) => out.push(d) } };
}

/** A tiny deterministic PRNG (mulberry32) for random labels. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const randomLabel = (r: () => number, n = 12) =>
  Array.from({ length: n }, () => ALNUM[Math.floor(r() * 36)]).join('');

describe('random-looking labels', () => {
  it('tells generated labels from words', () => {
    const r = rng(1);
    const generated = Array.from({ length: 1000 }, () => randomLabel(r, 12));
    expect(generated.filter(randomLookingLabel).length).toBeGreaterThan(850);
    const words = [
      'www',
      'mail',
      'accounts',
      'googleusercontent',
      'printer',
      'autodiscover',
      'wpad',
      'api-gateway',
      'cdn-edge01',
      'localhost',
      'connectivitycheck',
      'strengths',
      'backgrounds',
      'old-www12',
      'safebrowsing',
    ];
    expect(words.filter(randomLookingLabel)).toEqual([]);
    expect(labelEntropy('aaaa')).toBe(0);
    expect(labelEntropy('abcd')).toBe(2);
  });
});

const rateConfig: ClientRateSpikeConfig = {
  windowSeconds: 60,
  minQps: 20,
  factor: 10,
  forWindows: 2,
  resolveWindows: 2,
  baselineAlpha: 0.1,
  learningSeconds: 600,
  maxWindowClients: 100_000,
  maxBaselines: 10_000,
};

describe('client rate spike', () => {
  it('fires for one client far above its baseline and resolves after it calms down; others stay quiet', () => {
    const { out, emitter } = collector();
    const d = createClientRateSpikeDetector(rateConfig, { emitter });
    const r = rng(2);
    // 30 minutes: 500 ordinary clients at ~0.08 q/s and a forwarder at 30 q/s; minutes 20–23 client 10.0.0.7 at 80 q/s.
    for (let s = 0; s < 30 * 60; s++) {
      const t = T0 + s * 1000;
      for (let c = 0; c < 500; c++) if (r() < 0.08) d.observe(`10.0.${c >> 8}.${c & 0xff}`, t);
      for (let k = 0; k < 30; k++) d.observe('192.0.2.53', t + k);
      if (s >= 20 * 60 && s < 24 * 60) for (let k = 0; k < 80; k++) d.observe('10.0.0.7', t + k);
    }
    d.advance(T0 + 31 * MIN);
    expect(new Set(out.map((x) => x.labels.client))).toEqual(new Set(['10.0.0.7']));
    const firing = out.filter((x) => x.status === 'firing');
    expect(firing[0]).toMatchObject({ domain: 'dns', name: 'client-rate-spike', startsAt: T0 + 20 * MIN });
    // 10.0.0.7 is also one of the ordinary clients: 80 q/s plus its ~0.08.
    expect(firing[0]?.value).toBeCloseTo(80, 0);
    expect(firing).toHaveLength(3); // windows 21, 22, 23 (the first window above only counts)
    const resolved = out.filter((x) => x.status === 'resolved');
    expect(resolved).toHaveLength(1);
    expect(resolved[0]?.endsAt).toBe(T0 + 26 * MIN);
  });

  it('judges a busy client against its own baseline, and learns nothing while learning is on', () => {
    const { out, emitter } = collector();
    const d = createClientRateSpikeDetector(rateConfig, { emitter });
    const perSecond = (qps: (minute: number) => number, minutes: number) => {
      for (let m = 0; m < minutes; m++)
        for (let s = 0; s < 60; s++)
          for (let k = 0; k < qps(m); k++) d.observe('198.51.100.1', T0 + m * MIN + s * 1000 + k);
    };
    // 40 q/s from the start (learning, no detection), 60 q/s (1.5×: normal), then 600 q/s (15×: spike).
    perSecond((m) => (m < 15 ? 40 : m < 20 ? 60 : 600), 23);
    d.advance(T0 + 23 * MIN);
    expect(out.filter((x) => x.status === 'firing').map((x) => x.startsAt)).toEqual([
      T0 + 20 * MIN,
      T0 + 20 * MIN,
    ]);
  });
});

describe('random-subdomain attack', () => {
  const config = {
    windowSeconds: 60,
    minNxdomainPerSecond: 10,
    minDistinctRatio: 0.5,
    minRandomShare: 0.5,
    forWindows: 2,
    resolveWindows: 2,
    maxZones: 1000,
    maxLabelsPerZone: 2000,
  };

  it('fires for a flood of random labels under one zone, not for a repeated typo or word-like misses', () => {
    const { out, emitter } = collector();
    const d = createRandomSubdomainDetector(config, { emitter });
    const r = rng(3);
    const words = ['wpad', 'printer', 'mail2', 'intranet', 'autodiscover', 'old-www', 'vpn', 'files'];
    for (let s = 0; s < 8 * 60; s++) {
      const t = T0 + s * 1000;
      // A broken client repeats one missing name 50 times a second.
      for (let k = 0; k < 50; k++) d.observeNxdomain('example.jp.', 'wwww', t + k);
      // Ordinary misses under a corporate zone: words, 30/s.
      for (let k = 0; k < 30; k++)
        d.observeNxdomain('corp.example.', `${words[k % 8]}${Math.floor(r() * 1000)}.branch`, t + k);
      // Minutes 2–5: 40 random labels a second under victim.co.jp.
      if (s >= 120 && s < 300)
        for (let k = 0; k < 40; k++) d.observeNxdomain('victim.co.jp.', `${randomLabel(r)}.www`, t + k);
    }
    d.advance(T0 + 9 * MIN);
    expect(new Set(out.map((x) => x.labels.zone))).toEqual(new Set(['victim.co.jp.']));
    expect(out.filter((x) => x.status === 'firing')[0]).toMatchObject({
      name: 'random-subdomain-attack',
      severity: 'critical',
      startsAt: T0 + 2 * MIN,
      value: 40,
    });
    expect(out.at(-1)).toMatchObject({ status: 'resolved', endsAt: T0 + 7 * MIN });
  });
});

describe('SERVFAIL surge', () => {
  it('fires when SERVFAILs pass both the rate and the share bound, naming the top zone', () => {
    const { out, emitter } = collector();
    const d = createServfailSurgeDetector(
      {
        windowSeconds: 60,
        minServfailPerSecond: 5,
        minShare: 0.05,
        forWindows: 2,
        resolveWindows: 2,
        maxZonesPerResolver: 100,
      },
      { emitter },
    );
    for (let s = 0; s < 10 * 60; s++) {
      const t = T0 + s * 1000;
      for (let k = 0; k < 200; k++) {
        // 1% SERVFAIL always (normal), 20% on broken-dnssec.jp. in minutes 3–6.
        const failing = k < 2 || (s >= 180 && s < 420 && k < 42);
        d.observeAnswer(
          'ns-a',
          failing && k >= 2 ? 'broken-dnssec.jp.' : 'example.jp.',
          failing ? 2 : 0,
          t + k,
        );
      }
      // A quiet resolver where half the answers fail: under the rate floor.
      d.observeAnswer('ns-quiet', 'example.jp.', s % 2 === 0 ? 2 : 0, t);
    }
    d.advance(T0 + 11 * MIN);
    expect(new Set(out.map((x) => x.labels.resolver))).toEqual(new Set(['ns-a']));
    const firing = out.filter((x) => x.status === 'firing');
    expect(firing).toHaveLength(3);
    expect(firing[0]?.startsAt).toBe(T0 + 3 * MIN);
    expect(firing[0]?.annotations.description).toContain('broken-dnssec.jp. (2400)');
    expect(out.at(-1)).toMatchObject({ status: 'resolved', endsAt: T0 + 9 * MIN });
  });
});

describe('the detectors behind one observe', () => {
  it('routes DnsQuery records by rcode and zone', () => {
    const { out, emitter } = collector();
    const config = Value.Default(dnsDetectorSchema, {}) as DnsDetectorConfig;
    config.clientRate.learningSeconds = 0;
    const d = createDnsDetectors(config, { emitter });
    const r = rng(4);
    for (let s = 0; s < 4 * 60; s++) {
      for (let k = 0; k < 30; k++) {
        d.observe(
          create(DnsQuerySchema, {
            timeQueryNs: BigInt(T0 + s * 1000 + k) * 1_000_000n,
            clientAddress: parseIpAddress('203.0.113.9'),
            ipVersion: IpVersion.V4,
            qname: `${randomLabel(r)}.victim.example.com.`,
            qtype: 1,
            responseSeen: true,
            rcode: k % 3 === 0 ? 2 : 3,
            resolverIdentity: 'r1',
          }),
        );
      }
    }
    d.advance(T0 + 5 * MIN);
    const names = new Set(
      out.filter((x) => x.status === 'firing').map((x) => `${x.name} ${Object.values(x.labels)[0]}`),
    );
    expect(names).toEqual(
      new Set(['client-rate-spike 203.0.113.9', 'random-subdomain-attack example.com.', 'servfail-surge r1']),
    );
  });
});
