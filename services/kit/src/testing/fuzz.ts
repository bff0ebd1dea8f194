/**
 * Building blocks for fuzzing decoders with mutated valid inputs: a seeded random source, mutations that know
 * nothing of a protocol (bit flips, byte overwrites, truncation, corrupted length words, inserted and deleted
 * bytes, appended garbage, repeated slices, splices of two inputs) and the command line of a fuzz script.
 * Every mutator draws only from the `random` it is given, so a run is deterministic for its seed.
 *
 * Test and tool code only: not exported from the kit's index.
 */

import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { type Random, seededRandom } from '../random.ts';

export { type Random, seededRandom };

/** An integer in [0, below). */
export function randomInt(random: Random, below: number): number {
  return Math.floor(random() * below);
}

/** One of `items`, uniformly. */
export function pick<T>(random: Random, items: readonly T[]): T {
  return items[randomInt(random, items.length)]!;
}

/** Byte values on the boundaries of lengths, counts and flags. */
export const INTERESTING_8: readonly number[] = [0, 1, 0x7f, 0x80, 0xfe, 0xff];

/** 16-bit values on the boundaries of lengths and counts. */
export const INTERESTING_16: readonly number[] = [
  0, 1, 2, 3, 4, 5, 8, 16, 255, 256, 0x7fff, 0x8000, 0xfffe, 0xffff,
];

/**
 * A 32-bit value that breaks length and count checks: zero, one, off-by-a-few, the largest, the sign bit,
 * `size` (the bytes left after the word) and its neighbours, or a random one.
 */
export function interestingWord32(random: Random, size: number): number {
  const choices = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    0xfffffffc,
    size,
    size + 4,
    Math.max(0, size - 4),
    0x3fffffff,
    0x40000000,
    randomInt(random, 0x10000),
    randomInt(random, 0x100000000),
  ];
  return choices[randomInt(random, choices.length)]! >>> 0;
}

/** Flips 1 to 8 random bits of `data`, in place. */
export function flipBits(data: Buffer, random: Random): void {
  if (data.length === 0) return;
  const flips = 1 + randomInt(random, 8);
  for (let i = 0; i < flips; i++) {
    const at = randomInt(random, data.length);
    data[at] = data[at]! ^ (1 << randomInt(random, 8));
  }
}

/** Overwrites 1 to 4 random bytes of `data` in place, half of them with boundary values. */
export function overwriteBytes(data: Buffer, random: Random): void {
  if (data.length === 0) return;
  const writes = 1 + randomInt(random, 4);
  for (let i = 0; i < writes; i++) {
    const at = randomInt(random, data.length);
    data[at] = random() < 0.5 ? pick(random, INTERESTING_8) : randomInt(random, 256);
  }
}

/** A random prefix of `data`, shorter than it (a view, not a copy). */
export function truncate(data: Buffer, random: Random): Buffer {
  return data.subarray(0, randomInt(random, data.length));
}

/**
 * Corrupts one or two of the 16-bit fields at `offsets` (lengths and counts the caller knows of) in place:
 * a boundary value, the original off by up to 8, or a random value.
 */
export function corruptUInt16Fields(data: Buffer, offsets: readonly number[], random: Random): void {
  const corruptions = 1 + randomInt(random, 2);
  for (let i = 0; i < corruptions; i++) {
    const at = pick(random, offsets);
    const original = data.readUInt16BE(at);
    const roll = random();
    const value =
      roll < 0.4
        ? pick(random, INTERESTING_16)
        : roll < 0.8
          ? (original + randomInt(random, 17) - 8) & 0xffff
          : randomInt(random, 0x10000);
    data.writeUInt16BE(value, at);
  }
}

/**
 * Overwrites one 32-bit word of `data` in place with an `interestingWord32`; nine times in ten at a 4-byte
 * boundary, where the lengths and counts of aligned formats (XDR) are.
 */
export function corruptWord32(data: Buffer, random: Random): void {
  if (data.length < 4) return;
  const at = random() < 0.9 ? randomInt(random, data.length >>> 2) * 4 : randomInt(random, data.length - 3);
  data.writeUInt32BE(interestingWord32(random, data.length - at), at);
}

/** `data` with 1 to 8 bytes deleted at a random place, or as many random bytes inserted there. */
export function insertOrDelete(data: Buffer, random: Random): Buffer {
  const at = randomInt(random, data.length + 1);
  const count = 1 + randomInt(random, 8);
  if (random() < 0.5 && data.length > 0) {
    return Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + count))]);
  }
  const inserted = Buffer.alloc(count);
  for (let i = 0; i < count; i++) inserted[i] = randomInt(random, 256);
  return Buffer.concat([data.subarray(0, at), inserted, data.subarray(at)]);
}

/** `data` followed by 1 to 64 random bytes. */
export function appendRandom(data: Buffer, random: Random): Buffer {
  const extra = Buffer.alloc(1 + randomInt(random, 64));
  for (let i = 0; i < extra.length; i++) extra[i] = randomInt(random, 256);
  return Buffer.concat([data, extra]);
}

/** `data` with a slice of itself (up to 256 bytes) repeated at a random place: duplicated records and fields. */
export function repeatSlice(data: Buffer, random: Random): Buffer {
  const from = randomInt(random, data.length);
  const to = Math.min(data.length, from + 1 + randomInt(random, 256));
  const at = randomInt(random, data.length);
  return Buffer.concat([data.subarray(0, at), data.subarray(from, to), data.subarray(at)]);
}

/** The head of `data` and the tail of `other`: valid-looking structures under the wrong header. */
export function splice(data: Buffer, other: Buffer, random: Random): Buffer {
  const cut = randomInt(random, data.length);
  const otherCut = randomInt(random, other.length);
  return Buffer.concat([data.subarray(0, cut), other.subarray(otherCut)]);
}

export interface FuzzCommandLine {
  /** `--count`: how many mutated inputs (default 1,000,000). */
  count: number;
  /** `--seed`: the seed of the run. */
  seed: number;
  /** Every option, as given or defaulted, including the script's own. */
  values: Record<string, string>;
}

/**
 * The command line of a fuzz script: `--count N` (a positive integer, default 1,000,000), `--seed S` (an
 * integer) and the script's own string options with their defaults. Throws on an unknown option or a bad
 * count or seed.
 */
export function parseFuzzCommandLine(
  defaults: { seed: string; options?: Record<string, string> },
  args: string[] = process.argv.slice(2),
): FuzzCommandLine {
  const own = Object.entries(defaults.options ?? {}).map(([name, value]) => [
    name,
    { type: 'string' as const, default: value },
  ]);
  const { values } = parseArgs({
    args,
    options: {
      count: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: defaults.seed },
      ...Object.fromEntries(own),
    },
  });
  const strings = values as Record<string, string>;
  const count = Number(strings.count);
  const seed = Number(strings.seed);
  if (!Number.isSafeInteger(count) || count < 1)
    throw new Error(`--count must be a positive integer: ${strings.count}`);
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer: ${strings.seed}`);
  return { count, seed, values: strings };
}

/**
 * Runs `main` when the module at `moduleUrl` is the script node started (not when a test imports it); a
 * failure is written to stderr (its stack, or with `stack: false` its message) and sets `exitCode`.
 */
export function runFuzzScript(
  moduleUrl: string,
  main: () => Promise<void>,
  options: { exitCode?: number; stack?: boolean } = {},
): void {
  const script = process.argv[1];
  if (script === undefined || moduleUrl !== pathToFileURL(script).href) return;
  const { exitCode = 1, stack = true } = options;
  main().catch((error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (stack ? error.stack : error.message) : String(error)}\n`,
    );
    process.exitCode = exitCode;
  });
}
