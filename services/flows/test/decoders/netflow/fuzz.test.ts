/**
 * 50,000 mutated capture packets through one decoder (the full million-packet run is
 * `tsx services/flows/src/decoders/netflow/fuzz.ts`): nothing thrown, no input reaching the decoder's bug
 * code, every record a valid contract message, and exporters, templates, domains and held sets within limits.
 */

import { seededRandom } from '@kansoku/kit/testing/fuzz';
import { describe, expect, it } from 'vitest';
import { FUZZ_LIMITS, fuzzFailures, loadNetflowCorpus, runFuzz } from '../../../src/decoders/netflow/fuzz.ts';
import { mutatePacket, steeringOffsets } from '../../../src/decoders/netflow/mutate.ts';
import { flowCaptures, haveCaptures, missingCapturesMessage } from './captures.ts';
import { ipfix, set, template } from './packets.ts';

if (!haveCaptures) console.warn(missingCapturesMessage);

describe('mutations', () => {
  it('finds the fields that steer parsing: header length, set ids and lengths, template counts and lengths', () => {
    const packet = ipfix({}, [
      set(
        2,
        template(256, [
          [8, 4],
          [1, 4, 9],
        ]),
      ),
    ]);
    // 2: message length; 16/18: set id and length; 22: field count; 26, 30: field lengths.
    expect(steeringOffsets(packet)).toEqual([2, 16, 18, 22, 26, 30]);
  });

  it('is deterministic for a seed', () => {
    const packet = ipfix({}, [
      set(
        2,
        template(256, [
          [8, 4],
          [12, 4],
        ]),
      ),
    ]);
    const run = () => {
      const random = seededRandom(7);
      return Array.from({ length: 50 }, () => mutatePacket(packet, packet, random).toString('hex'));
    };
    expect(run()).toEqual(run());
  });
});

describe.skipIf(!haveCaptures)(
  `fuzzing the decoder${haveCaptures ? '' : ` (${missingCapturesMessage})`}`,
  () => {
    it('survives 50,000 mutated packets with bounded state', { timeout: 120_000 }, async () => {
      const corpus = await loadNetflowCorpus(flowCaptures);
      expect(corpus.length).toBeGreaterThan(100);
      const report = runFuzz({ count: 50_000, seed: 1, corpus });
      expect(fuzzFailures(report)).toEqual([]);
      expect(report.packets).toBe(50_000);
      for (const count of Object.values(report.mutated)) expect(count).toBeGreaterThan(5000);
      // The run reaches the limits it checks, and the mutations reach the decoder's error paths.
      expect(report.maxExporters).toBe(FUZZ_LIMITS.maxExporters);
      expect(report.exportersEvicted).toBeGreaterThan(0);
      expect(report.records).toBeGreaterThan(10_000);
      for (const code of [
        'KANSOKU_INPUT_TRUNCATED',
        'KANSOKU_FLOW_BAD_SET_LENGTH',
        'KANSOKU_FLOW_BAD_TEMPLATE',
      ]) {
        expect(report.decodeErrors[code]).toBeGreaterThan(0);
      }
    });
  },
);
