import { describe, expect, it } from 'vitest';

import {
  AS4_SESSION,
  type BgpOpen,
  parseBgpMessage,
  sessionOptionsFromOpens,
} from '../../../src/decoders/bgp/index.ts';
import { message, u16, u32 } from './build.ts';

function open(capabilities: number[][]): BgpOpen {
  const bytes = capabilities.flat();
  const body = [4, ...u16(23456), ...u16(90), 10, 0, 0, 1, bytes.length + 2, 2, bytes.length, ...bytes];
  const parsed = parseBgpMessage(message(1, body), AS4_SESSION);
  if (parsed.type !== 'open') throw new Error('not an OPEN');
  return parsed;
}

describe('sessionOptionsFromOpens', () => {
  it('negotiates 4-octet AS and ADD-PATH per direction', () => {
    const as4 = [65, 4, ...u32(4200000001)];
    const router = open([as4, [69, 8, ...u16(1), 1, 1, ...u16(2), 1, 3]]); // receive v4, send/receive v6
    const peer = open([as4, [69, 8, ...u16(1), 1, 2, ...u16(2), 1, 1]]); // send v4, receive v6
    const fromPeer = sessionOptionsFromOpens(peer, router);
    expect(fromPeer.as4).toBe(true);
    expect(fromPeer.addPath(1, 1)).toBe(true);
    expect(fromPeer.addPath(2, 1)).toBe(false);
    const fromRouter = sessionOptionsFromOpens(router, peer);
    expect(fromRouter.addPath(1, 1)).toBe(false);
    expect(fromRouter.addPath(2, 1)).toBe(true);
    expect(sessionOptionsFromOpens(open([]), router).as4).toBe(false);
  });
});
