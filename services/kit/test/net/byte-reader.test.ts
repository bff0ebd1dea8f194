import { describe, expect, it } from 'vitest';
import { KansokuError } from '../../src/errors.ts';
import { ByteReader, TruncatedInputError } from '../../src/net/index.ts';

const bytes = Buffer.from([
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xff,
]);

describe('ByteReader', () => {
  it('reads big-endian integers and tracks its position', () => {
    const reader = new ByteReader(bytes);
    expect(reader.u8()).toBe(0x01);
    expect(reader.u16()).toBe(0x0203);
    expect(reader.u24()).toBe(0x040506);
    expect(reader.position).toBe(6);
    expect(reader.u32()).toBe(0x0708090a);
    expect(reader.remaining).toBe(6);
    reader.skip(2);
    expect(reader.u32()).toBe(0x0d0e0fff);
    expect(reader.atEnd).toBe(true);
  });

  it('reads 64-bit values as bigint, beyond Number precision', () => {
    const reader = new ByteReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]));
    expect(reader.u64()).toBe(0xfffffffffffffffen);
    expect(new ByteReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])).i64()).toBe(-2n);
  });

  it('reads little-endian when asked', () => {
    const reader = new ByteReader(bytes, { littleEndian: true });
    expect(reader.u16()).toBe(0x0201);
    expect(reader.u32()).toBe(0x06050403);
    expect(reader.u64()).toBe(0x0e0d0c0b0a090807n);
  });

  it('gives views of the same memory for bytes, sub and rest', () => {
    const buffer = Buffer.from(bytes);
    const reader = new ByteReader(buffer);
    reader.skip(1);
    const view = reader.bytes(3);
    expect([...view]).toEqual([2, 3, 4]);
    buffer[1] = 0x99;
    expect(view[0]).toBe(0x99);
    const nested = reader.sub(4);
    expect(nested.u32()).toBe(0x05060708);
    expect(nested.atEnd).toBe(true);
    expect(reader.position).toBe(8);
    expect(reader.rest().length).toBe(8);
    expect(reader.remaining).toBe(0);
  });

  it('peeks without moving', () => {
    const reader = new ByteReader(bytes);
    expect(reader.peekU8()).toBe(1);
    expect(reader.peekU16()).toBe(0x0102);
    expect(reader.position).toBe(0);
  });

  it('throws TruncatedInputError on overrun and does not move', () => {
    const reader = new ByteReader(Buffer.from([1, 2, 3]));
    reader.u16();
    let caught: unknown;
    try {
      reader.u32();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TruncatedInputError);
    expect(caught).toBeInstanceOf(KansokuError);
    expect((caught as Error).name).toBe('TruncatedInputError');
    expect(caught).toMatchObject({ code: 'KANSOKU_INPUT_TRUNCATED', needed: 4, available: 1, offset: 2 });
    expect(reader.position).toBe(2);
    expect(reader.u8()).toBe(3);
    for (const read of [
      () => reader.u8(),
      () => reader.u16(),
      () => reader.u24(),
      () => reader.u64(),
      () => reader.bytes(1),
      () => reader.sub(1),
      () => reader.skip(1),
      () => reader.peekU8(),
    ]) {
      expect(read).toThrow(TruncatedInputError);
    }
  });

  it('rejects negative and fractional lengths as truncation, not as a silent empty read', () => {
    const reader = new ByteReader(bytes);
    expect(() => reader.bytes(-1)).toThrow(TruncatedInputError);
    expect(() => reader.skip(1.5)).toThrow(TruncatedInputError);
    expect(() => reader.bytes(Number.NaN)).toThrow(TruncatedInputError);
    expect(reader.position).toBe(0);
  });
});
