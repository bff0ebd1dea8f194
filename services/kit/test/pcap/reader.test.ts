import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PcapFormatError,
  type PcapPacket,
  PcapParser,
  readPcapBuffer,
  readPcapFile,
  readPcapStream,
} from '../../src/pcap/index.ts';
import {
  classicPcap,
  type Endian,
  enhancedPacket,
  interfaceDescription,
  obsoletePacket,
  pcapngBlock,
  sectionHeader,
  simplePacket,
} from './synthetic.ts';

const tmp = mkdtempSync(join(tmpdir(), 'kansoku-pcap-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tsharkAvailable(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Frame number, epoch time, interface, captured and wire length, as tshark reads `path`. */
function tsharkFrames(path: string): string[][] {
  const fields = ['frame.time_epoch', 'frame.interface_id', 'frame.cap_len', 'frame.len'];
  const output = execFileSync('tshark', ['-r', path, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], {
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
  return output
    .trimEnd()
    .split('\n')
    .map((line) => line.split('\t'));
}

function epoch(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

async function collect(iterable: AsyncIterable<PcapPacket>): Promise<PcapPacket[]> {
  const packets: PcapPacket[] = [];
  for await (const packet of iterable) packets.push(packet);
  return packets;
}

async function* chunked(buffer: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buffer.length; i += size) yield buffer.subarray(i, i + size);
}

const frameA = Buffer.from('first frame, odd length');
const frameB = Buffer.from('second!!');
const frameC = Buffer.from('third frame of interface one');

describe('classic pcap', () => {
  for (const endian of ['le', 'be'] as const) {
    for (const nanoseconds of [false, true]) {
      it(`reads ${endian === 'le' ? 'little' : 'big'}-endian ${nanoseconds ? 'nanosecond' : 'microsecond'} files`, () => {
        const file = classicPcap({
          endian,
          nanoseconds,
          linkType: 1,
          records: [
            { seconds: 1_700_000_000, fraction: nanoseconds ? 123_456_789 : 123_456, data: frameA },
            {
              seconds: 1_700_000_001,
              fraction: nanoseconds ? 999_999_999 : 999_999,
              data: frameB,
              originalLength: 1500,
            },
          ],
        });
        const packets = [...readPcapBuffer(file)];
        expect(packets).toHaveLength(2);
        expect(packets[0]!.timestampNs).toBe(
          nanoseconds ? 1_700_000_000_123_456_789n : 1_700_000_000_123_456_000n,
        );
        expect(packets[1]!.timestampNs).toBe(
          nanoseconds ? 1_700_000_001_999_999_999n : 1_700_000_001_999_999_000n,
        );
        expect(packets[0]!.data.equals(frameA)).toBe(true);
        expect(packets[1]).toMatchObject({
          capturedLength: 8,
          originalLength: 1500,
          linkType: 1,
          interfaceId: 0,
        });
      });
    }
  }

  it('reads the same packets whatever the chunk boundaries', async () => {
    const records = Array.from({ length: 50 }, (_, i) => ({
      seconds: 1000 + i,
      fraction: i,
      data: Buffer.alloc(i * 7, i),
    }));
    const file = classicPcap({ endian: 'be', nanoseconds: true, linkType: 101, records });
    const whole = [...readPcapBuffer(file)];
    for (const size of [1, 3, 16, 17, 4096]) {
      const streamed = await collect(readPcapStream(chunked(file, size)));
      expect(streamed.map((p) => [p.timestampNs, p.data.toString('hex')])).toEqual(
        whole.map((p) => [p.timestampNs, p.data.toString('hex')]),
      );
    }
    expect(whole).toHaveLength(50);
    expect(whole[49]!.data.length).toBe(343);
  });

  it('keeps the link type in the low 16 bits when FCS bits are set', () => {
    const file = classicPcap({ endian: 'le', nanoseconds: false, linkType: 0x1000_0001, records: [] });
    const parser = new PcapParser();
    parser.push(file);
    expect([...parser.packets()]).toEqual([]);
    parser.end();
    expect(parser.format).toBe('pcap');
    const withPacket = classicPcap({
      endian: 'le',
      nanoseconds: false,
      linkType: 0x1000_0001,
      records: [{ seconds: 1, fraction: 0, data: frameA }],
    });
    expect([...readPcapBuffer(withPacket)][0]!.linkType).toBe(1);
  });
});

function pcapngFile(endian: Endian): Buffer {
  return Buffer.concat([
    sectionHeader(endian, []),
    // interface 0: default resolution (microseconds)
    interfaceDescription(endian, 1, { name: 'eth0' }),
    // interface 1: nanoseconds, 1000 s offset
    interfaceDescription(endian, 101, { tsresol: 9, tsoffset: 1000n }),
    // interface 2: 2^-20 s units
    interfaceDescription(endian, 113, { tsresol: 0x80 | 20 }),
    enhancedPacket(endian, 0, 1_700_000_000_123_456n, frameA),
    // a name resolution block and a block of a type nobody assigned: skipped
    pcapngBlock(4, Buffer.from([0, 0, 0, 0]), endian),
    pcapngBlock(0x00000099, Buffer.from('unknown block, skip me'), endian),
    enhancedPacket(endian, 1, 1_700_000_000_987_654_321n, frameC, 9000),
    enhancedPacket(endian, 2, (1_700_000_000n << 20n) | (1n << 19n), frameB),
    simplePacket(endian, frameB),
    obsoletePacket(endian, 1, 5_000_000_001n, frameA),
  ]);
}

describe('pcapng', () => {
  for (const endian of ['le', 'be'] as const) {
    it(`reads a ${endian === 'le' ? 'little' : 'big'}-endian section with three timestamp resolutions`, () => {
      const packets = [...readPcapBuffer(pcapngFile(endian))];
      expect(
        packets.map((p) => [p.interfaceId, p.linkType, p.timestampNs, p.capturedLength, p.originalLength]),
      ).toEqual([
        [0, 1, 1_700_000_000_123_456_000n, frameA.length, frameA.length],
        [1, 101, 1_700_001_000_987_654_321n, frameC.length, 9000],
        [2, 113, 1_700_000_000_500_000_000n, frameB.length, frameB.length],
        [0, 1, 0n, frameB.length, frameB.length],
        [1, 101, 1_005_000_000_001n, frameA.length, frameA.length],
      ]);
      expect(packets.map((p) => p.data.toString())).toEqual([
        frameA.toString(),
        frameC.toString(),
        frameB.toString(),
        frameB.toString(),
        frameA.toString(),
      ]);
    });
  }

  it('starts over at each section, which may change byte order', async () => {
    const file = Buffer.concat([
      sectionHeader('le'),
      interfaceDescription('le', 1),
      interfaceDescription('le', 1),
      enhancedPacket('le', 1, 1n, frameA),
      sectionHeader('be'),
      interfaceDescription('be', 229, { tsresol: 3 }),
      enhancedPacket('be', 0, 2000n, frameB),
      // interface 1 existed in the previous section only
      enhancedPacket('be', 1, 1n, frameC),
    ]);
    const streamed: PcapPacket[] = [];
    await expect(async () => {
      for await (const packet of readPcapStream(chunked(file, 5))) streamed.push(packet);
    }).rejects.toMatchObject({ code: 'KANSOKU_PCAP_UNKNOWN_INTERFACE' });
    expect(streamed.map((p) => [p.interfaceId, p.linkType, p.timestampNs])).toEqual([
      [1, 1, 1000n],
      [0, 229, 2_000_000_000n],
    ]);
  });

  it('cuts a simple packet block at the interface snap length', () => {
    const file = Buffer.concat([
      sectionHeader('le'),
      interfaceDescription('le', 1, { snapLength: 4 }),
      simplePacket('le', frameA.subarray(0, 4), 1500),
    ]);
    const [packet] = [...readPcapBuffer(file)];
    expect(packet).toMatchObject({ capturedLength: 4, originalLength: 1500 });
  });

  it.skipIf(!tsharkAvailable())('agrees with tshark on timestamps, interfaces and lengths', async () => {
    for (const endian of ['le', 'be'] as const) {
      const path = join(tmp, `synthetic-${endian}.pcapng`);
      writeFileSync(path, pcapngFile(endian));
      const ours = await collect(readPcapFile(path, { chunkSize: 7 }));
      const theirs = tsharkFrames(path);
      expect(ours).toHaveLength(theirs.length);
      ours.forEach((packet, i) => {
        const [time, interfaceId, capturedLength, originalLength] = theirs[i]!;
        if (i === 3) {
          // The simple packet block has no time (tshark shows none, we say 0) and is of interface 0.
          expect([time, interfaceId]).toEqual(['', '0']);
          expect([packet.timestampNs, packet.interfaceId]).toEqual([0n, 0]);
        } else {
          expect(epoch(packet.timestampNs)).toBe(time);
          expect(String(packet.interfaceId)).toBe(interfaceId);
        }
        expect(String(packet.capturedLength)).toBe(capturedLength);
        expect(String(packet.originalLength)).toBe(originalLength);
      });
    }
    for (const nanoseconds of [false, true]) {
      const path = join(tmp, `synthetic-be-${nanoseconds}.pcap`);
      writeFileSync(
        path,
        classicPcap({
          endian: 'be',
          nanoseconds,
          linkType: 1,
          records: [{ seconds: 1_600_000_000, fraction: nanoseconds ? 5 : 999_999, data: frameA }],
        }),
      );
      const [packet] = await collect(readPcapFile(path));
      expect(epoch(packet!.timestampNs)).toBe(tsharkFrames(path)[0]![0]);
    }
  });
});

describe('malformed input', () => {
  const codeOf = (input: Buffer, options = {}) => {
    try {
      [...readPcapBuffer(input, options)];
      return 'no error';
    } catch (error) {
      expect(error).toBeInstanceOf(PcapFormatError);
      return (error as PcapFormatError).code;
    }
  };
  const good = classicPcap({
    endian: 'le',
    nanoseconds: false,
    linkType: 1,
    records: [
      { seconds: 1, fraction: 0, data: frameA },
      { seconds: 2, fraction: 0, data: frameB },
    ],
  });

  it('rejects what is not a capture', () => {
    expect(codeOf(Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n'))).toBe('KANSOKU_PCAP_BAD_MAGIC');
    expect(codeOf(Buffer.alloc(0))).toBe('KANSOKU_PCAP_TRUNCATED');
    expect(codeOf(good.subarray(0, 10))).toBe('KANSOKU_PCAP_TRUNCATED');
    const badVersion = Buffer.from(good);
    badVersion.writeUInt16LE(3, 4);
    expect(codeOf(badVersion)).toBe('KANSOKU_PCAP_UNSUPPORTED_VERSION');
    const badOrder = sectionHeader('le');
    badOrder.writeUInt32LE(0x11223344, 8);
    expect(codeOf(badOrder)).toBe('KANSOKU_PCAP_BAD_MAGIC');
  });

  it('yields the packets before a cut record, then throws or stops as asked', () => {
    const cut = good.subarray(0, good.length - 3);
    const seen: PcapPacket[] = [];
    expect(() => {
      for (const packet of readPcapBuffer(cut)) seen.push(packet);
    }).toThrow(expect.objectContaining({ code: 'KANSOKU_PCAP_TRUNCATED' }));
    expect(seen).toHaveLength(1);
    expect([...readPcapBuffer(cut, { truncatedTail: 'ignore' })]).toHaveLength(1);
  });

  it('refuses a record larger than the bound instead of buffering it', () => {
    const huge = Buffer.from(good);
    huge.writeUInt32LE(0x7fffffff, 24 + 8);
    expect(codeOf(huge)).toBe('KANSOKU_PCAP_RECORD_TOO_LARGE');
    expect(codeOf(good, { maxRecordBytes: 8 })).toBe('KANSOKU_PCAP_RECORD_TOO_LARGE');
  });

  it('checks pcapng block lengths and fields', () => {
    const head = Buffer.concat([sectionHeader('le'), interfaceDescription('le', 1)]);
    const epb = enhancedPacket('le', 0, 1n, frameA);
    const mismatch = Buffer.from(epb);
    mismatch.writeUInt32LE(epb.length + 4, epb.length - 4);
    expect(codeOf(Buffer.concat([head, mismatch]))).toBe('KANSOKU_PCAP_MALFORMED');
    const oddLength = Buffer.from(epb);
    oddLength.writeUInt32LE(epb.length - 1, 4);
    expect(codeOf(Buffer.concat([head, oddLength]))).toBe('KANSOKU_PCAP_MALFORMED');
    // captured length pointing past the block
    const overrun = enhancedPacket('le', 0, 1n, frameA, frameA.length, 4000);
    expect(codeOf(Buffer.concat([head, overrun]))).toBe('KANSOKU_PCAP_MALFORMED');
    expect(codeOf(Buffer.concat([sectionHeader('le'), epb]))).toBe('KANSOKU_PCAP_UNKNOWN_INTERFACE');
  });

  it('survives random corruption with a typed error or packets, never anything else', () => {
    const base = pcapngFile('le');
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 500; round++) {
      const corrupt = Buffer.from(base);
      for (let flips = 0; flips < 4; flips++)
        corrupt[Math.floor(random() * corrupt.length)] = Math.floor(random() * 256);
      try {
        for (const packet of readPcapBuffer(corrupt, { maxRecordBytes: 1 << 20 })) {
          expect(packet.data.length).toBe(packet.capturedLength);
        }
      } catch (error) {
        expect(error).toBeInstanceOf(PcapFormatError);
      }
    }
  });
});

describe('readPcapFile', () => {
  it('closes the file when the loop stops early', async () => {
    const path = join(tmp, 'early.pcap');
    const records = Array.from({ length: 1000 }, (_, i) => ({
      seconds: i,
      fraction: 0,
      data: Buffer.alloc(100),
    }));
    writeFileSync(path, classicPcap({ endian: 'le', nanoseconds: false, linkType: 1, records }));
    let seen = 0;
    for await (const _ of readPcapFile(path, { chunkSize: 1024 })) {
      seen += 1;
      if (seen === 3) break;
    }
    expect(seen).toBe(3);
    expect(await collect(readPcapFile(path))).toHaveLength(1000);
  });

  it('rejects with ENOENT for a missing file', async () => {
    await expect(collect(readPcapFile(join(tmp, 'missing.pcap')))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
