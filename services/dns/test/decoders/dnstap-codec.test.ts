/**
 * The dnstap encoder (simulator, senders) against the decoder, which the public capture holds to the real
 * thing: every field round-trips, for small and large messages (length varints of 1 to 3 bytes).
 */

import { seededRandom } from '@kansoku/kit/testing/fuzz';
import { describe, expect, it } from 'vitest';
import { decodeDnstap, encodeDnstap } from '../../src/decoders/dnstap.ts';

describe('encodeDnstap', () => {
  it('round-trips through decodeDnstap', () => {
    const random = seededRandom(42);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    for (let i = 0; i < 2000; i++) {
      const size = [0, 12, 100, 127, 128, 300, 16_383, 16_384, 70_000][i % 9]!;
      const message = {
        type: 1 + (i % 14),
        socketFamily: 1 + (i % 2),
        socketProtocol: 1 + (i % 7),
        queryAddress: bytes(i % 2 === 0 ? 4 : 16),
        responseAddress: bytes(i % 2 === 0 ? 4 : 16),
        queryPort: Math.floor(random() * 65536),
        responsePort: 53,
        queryTimeSec: 1_795_000_000 + i,
        queryTimeNsec: Math.floor(random() * 1e9),
        queryMessage: bytes(size),
        responseTimeSec: i % 3 === 0 ? 0 : 1_795_000_001 + i,
        responseTimeNsec: i % 3 === 0 ? 0 : Math.floor(random() * 1e9),
        responseMessage: i % 4 === 0 ? undefined : bytes(size + 1),
      };
      const decoded = decodeDnstap(encodeDnstap({ identity: `r${i}`, version: 'v', message }));
      expect(Buffer.from(decoded.identity!).toString()).toBe(`r${i}`);
      expect(decoded.type).toBe(1);
      const m = decoded.message!;
      // Byte fields compared as buffers: deep equality on 70 kB arrays is far too slow.
      const same = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
        a === undefined || b === undefined ? a === b : Buffer.compare(a, b) === 0;
      for (const key of ['queryAddress', 'responseAddress', 'queryMessage', 'responseMessage'] as const)
        expect(same(m[key], message[key]), key).toBe(true);
      const scalars = (x: Record<string, unknown>) =>
        Object.fromEntries(
          Object.entries(x).filter(([, v]) => !(v instanceof Uint8Array) && v !== undefined),
        );
      expect(scalars({ ...m })).toEqual(scalars(message));
    }
  });
});
