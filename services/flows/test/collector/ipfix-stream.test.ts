import { describe, expect, it } from 'vitest';
import {
  createIpfixFramer,
  type IpfixStreamError,
  IpfixStreamErrorCode,
} from '../../src/collector/ipfix-stream.ts';
import { ipfixStream } from './ipfix-packets.ts';

const messages = ipfixStream(5, 3);
const stream = Buffer.concat(messages);

/** Feeds `chunks` to one framer and returns every message it produced, and its first error. */
function frame(chunks: Buffer[]) {
  const framer = createIpfixFramer();
  const out: Buffer[] = [];
  let error: IpfixStreamError | undefined;
  for (const chunk of chunks) {
    const result = framer.push(chunk);
    out.push(...result.messages);
    error ??= result.error;
  }
  return { out, error, buffered: framer.buffered() };
}

describe('IPFIX over TCP framing', () => {
  it('cuts a stream delivered in one chunk into its messages', () => {
    const { out, error, buffered } = frame([stream]);
    expect(error).toBeUndefined();
    expect(out).toEqual(messages);
    expect(buffered).toBe(0);
  });

  it('reassembles messages split at every possible point, byte by byte included', () => {
    for (const size of [1, 2, 3, 5, 15, 16, 17, 64]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
      const { out, error, buffered } = frame(chunks);
      expect(error, `chunks of ${size}`).toBeUndefined();
      expect(out, `chunks of ${size}`).toEqual(messages);
      expect(buffered).toBe(0);
    }
  });

  it('keeps an incomplete message until the rest arrives', () => {
    const framer = createIpfixFramer();
    const first = messages[0]!;
    expect(framer.push(first.subarray(0, 10)).messages).toEqual([]);
    expect(framer.buffered()).toBe(10);
    const result = framer.push(Buffer.concat([first.subarray(10), messages[1]!.subarray(0, 3)]));
    expect(result.messages).toEqual([first]);
    expect(framer.buffered()).toBe(3);
  });

  it('reports a length below the header, after returning the messages before it, and then stays failed', () => {
    const bad = Buffer.from(messages[1]!);
    bad.writeUInt16BE(12, 2);
    const framer = createIpfixFramer();
    const result = framer.push(Buffer.concat([messages[0]!, bad, messages[2]!]));
    expect(result.messages).toEqual([messages[0]]);
    expect(result.error?.code).toBe(IpfixStreamErrorCode.BAD_LENGTH);
    expect(result.error?.message).toMatch(/declares length 12/);
    const after = framer.push(messages[3]!);
    expect(after.messages).toEqual([]);
    expect(after.error?.code).toBe(IpfixStreamErrorCode.BAD_LENGTH);
  });

  it('reports a header that is not IPFIX (NetFlow v9 sent to the TCP port)', () => {
    const v9 = Buffer.from(messages[0]!);
    v9.writeUInt16BE(9, 0);
    const { out, error } = frame([v9]);
    expect(out).toEqual([]);
    expect(error?.code).toBe(IpfixStreamErrorCode.BAD_VERSION);
  });

  it('detects a bad header even when it arrives split in two', () => {
    const bad = Buffer.from(messages[0]!);
    bad.writeUInt16BE(0, 2);
    const { error } = frame([bad.subarray(0, 3), bad.subarray(3)]);
    expect(error?.code).toBe(IpfixStreamErrorCode.BAD_LENGTH);
  });
});
