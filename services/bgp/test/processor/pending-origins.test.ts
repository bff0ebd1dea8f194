import { describe, expect, it } from 'vitest';
import { PendingOrigins } from '../../src/processor/pending-origins.ts';

describe('PendingOrigins', () => {
  it('keeps the last change per prefix, forgets deleted ones, and empties when taken', () => {
    const pending = new PendingOrigins();
    const model = new Map<number, [number, number]>();
    let seed = 5;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) >>> 0;
      return seed >>> 8;
    };
    for (let i = 0; i < 50_000; i++) {
      const id = next() % 5000;
      if (next() % 4 === 0) {
        pending.delete(id);
        model.delete(id);
      } else {
        const origin = next() % 70_000;
        pending.set(id, origin, i);
        model.set(id, [origin, i]);
      }
    }
    expect(pending.size).toBe(model.size);
    const taken = new Map<number, [number, number]>();
    pending.take((id, origin, ms) => {
      expect(taken.has(id)).toBe(false);
      taken.set(id, [origin, ms]);
    });
    expect(taken).toEqual(model);
    expect(pending.size).toBe(0);
    pending.take(() => {
      throw new Error('nothing left');
    });
    pending.set(7, 64_500, 1);
    const again: number[] = [];
    pending.take((id, origin) => again.push(id, origin));
    expect(again).toEqual([7, 64_500]);
  });
});
