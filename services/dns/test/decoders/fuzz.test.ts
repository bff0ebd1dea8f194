/**
 * 200,000 mutated inputs through each of the DNS wire parser, the dnstap decoder with pairing, and the
 * Frame Streams parser with its session (the million-input run is `tsx services/dns/src/decoders/fuzz.ts`):
 * nothing thrown but typed errors, no hang, bounded state, records that round-trip.
 */

import { seededRandom } from '@kansoku/kit/testing/fuzz';
import { describe, expect, it } from 'vitest';
import { dnsFuzzFailures, loadDnsCorpus, MUTATIONS, mutate, runDnsFuzz } from '../../src/decoders/fuzz.ts';

const corpus = loadDnsCorpus();

describe('fuzzing', () => {
  it('mutations are deterministic for a seed and all used', () => {
    const run = () => {
      const random = seededRandom(3);
      return Array.from({ length: 200 }, () => mutate(corpus.messages[0]!, corpus.messages[1]!, random));
    };
    const a = run();
    expect(a.map((m) => m.data.toString('hex'))).toEqual(run().map((m) => m.data.toString('hex')));
    expect(new Set(a.map((m) => m.kind)).size).toBe(MUTATIONS.length);
  });

  for (const target of ['dns', 'dnstap', 'fstrm'] as const) {
    it(`${target}: 200,000 mutated inputs, no crash, no hang`, { timeout: 300_000 }, () => {
      const report = runDnsFuzz({ target, count: 200_000, seed: 11, corpus });
      expect(dnsFuzzFailures(report)).toEqual([]);
      expect(report.inputs).toBe(200_000);
      // The mutations reach both the accepting and the rejecting paths.
      expect(report.accepted).toBeGreaterThan(10_000);
      expect(Object.values(report.errors).reduce((a, b) => a + b, 0)).toBeGreaterThan(10_000);
      if (target !== 'dns') expect(report.records).toBeGreaterThan(1000);
    });
  }
});
