/**
 * readMrt recognises gzip and bzip2 by their magic bytes (the file names here say nothing), reads paths and
 * streams alike, and reports corrupt or truncated input with typed errors instead of throwing mid-stream.
 */

import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

import { afterAll, describe, expect, it } from 'vitest';

import {
  decodeMrtBuffer,
  detectCompression,
  formatBgpdumpLines,
  MrtDecodeError,
  type MrtRecord,
  type MrtSource,
  readMrt,
} from '../../../src/decoders/mrt/index.ts';
import { syntheticUpdates } from './build.ts';

const directory = mkdtempSync(join(tmpdir(), 'kansoku-mrt-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const plain = syntheticUpdates(3000);
const expectedLines = [...decodeMrtBuffer(plain)].flatMap(formatBgpdumpLines);

let bzip2: boolean;
try {
  execFileSync('bzip2', ['--help'], { stdio: 'ignore' });
  bzip2 = true;
} catch {
  bzip2 = false;
}

async function collect(source: MrtSource): Promise<MrtRecord[]> {
  const records: MrtRecord[] = [];
  for await (const record of readMrt(source)) records.push(record);
  return records;
}

describe('readMrt input handling', () => {
  it('reads a plain file, and the synthetic stream formats as expected', async () => {
    expect(expectedLines).toHaveLength(3000);
    expect(expectedLines[1]).toBe(
      'BGP4MP|1700000001|A|192.0.2.1|65001|10.0.1.0/24|65001 64501|IGP|192.0.2.1|0|0||NAG||',
    );
    const path = join(directory, 'plain.gz'); // a misleading name: the content is not compressed
    writeFileSync(path, plain);
    expect(detectCompression(plain)).toBe('none');
    expect((await collect(path)).flatMap(formatBgpdumpLines)).toEqual(expectedLines);
  });

  it('detects gzip by magic bytes, from a path and from a stream', async () => {
    const path = join(directory, 'updates.mrt');
    writeFileSync(path, gzipSync(plain));
    expect((await collect(path)).flatMap(formatBgpdumpLines)).toEqual(expectedLines);
    // A stream in small chunks (records straddle chunk boundaries).
    const chunks: Buffer[] = [];
    const compressed = gzipSync(plain);
    for (let i = 0; i < compressed.length; i += 7) chunks.push(compressed.subarray(i, i + 7));
    expect((await collect(Readable.from(chunks))).flatMap(formatBgpdumpLines)).toEqual(expectedLines);
  });

  it.skipIf(!bzip2)('detects bzip2 by magic bytes (file made with the bzip2 command)', async () => {
    const path = join(directory, 'updates.dat');
    writeFileSync(path, plain);
    execFileSync('bzip2', ['-k', '-9', path]);
    const compressed = readFileSync(`${path}.bz2`);
    expect(detectCompression(compressed)).toBe('bzip2');
    writeFileSync(path, compressed);
    expect((await collect(path)).flatMap(formatBgpdumpLines)).toEqual(expectedLines);
    expect((await collect(createReadStream(path))).length).toBe(3000);
  });
  if (!bzip2) console.warn('skipped the bzip2 case: the bzip2 command is not installed');

  it('reports corrupt compressed data with KANSOKU_MRT_BAD_COMPRESSION', async () => {
    const corrupt = gzipSync(plain);
    corrupt.fill(0x55, 40, 200);
    await expect(collect(Readable.from([corrupt]))).rejects.toThrow(
      expect.objectContaining({ code: 'KANSOKU_MRT_BAD_COMPRESSION' }),
    );
    const badBzip2 = Buffer.concat([Buffer.from('BZh9'), Buffer.alloc(64, 0x42)]);
    await expect(collect(Readable.from([badBzip2]))).rejects.toBeInstanceOf(MrtDecodeError);
  });

  it('ends a truncated input with a malformed record, after the complete ones', async () => {
    const records = await collect(Readable.from([plain.subarray(0, plain.length - 10)]));
    expect(records).toHaveLength(3000);
    const last = records[records.length - 1]!;
    expect(last.kind).toBe('malformed');
    if (last.kind === 'malformed') expect(last.error.code).toBe('KANSOKU_MRT_TRUNCATED');
    expect(await collect(Readable.from([Buffer.alloc(0)]))).toEqual([]);
  });

  it('yields a malformed record for a bad body and goes on with the next record', async () => {
    const broken = Buffer.from(plain);
    // First record: MESSAGE_AS4 body; break the BGP marker at offset 12 + 20.
    broken[12 + 20] = 0;
    const records = await collect(Readable.from([broken]));
    expect(records).toHaveLength(3000);
    expect(records[0]).toMatchObject({ kind: 'malformed', error: { code: 'KANSOKU_BGP_BAD_MARKER' } });
    expect(records[1]!.kind).toBe('bgp4mp-message');
  });
});
