/**
 * DNS wire-format reading (RFC 1035, EDNS RFC 6891): the header, the first question, the section counts and
 * the OPT record, which is what a query log needs. Answers are counted, not decoded. Names are read with
 * compression pointers that must point backwards (so a loop is impossible) and are bounded (255 octets,
 * 63 per label, 128 labels). Whatever the bytes, the result is a message or a DnsWireError with a stable
 * code; a message cut short after its question is still returned, marked `incomplete`, since its header
 * and question are what matter.
 */

import { KansokuError } from '@kansoku/kit';

export type DnsWireErrorCode =
  | 'KANSOKU_DNS_TRUNCATED'
  | 'KANSOKU_DNS_BAD_NAME'
  | 'KANSOKU_DNS_BAD_POINTER'
  | 'KANSOKU_DNS_NO_QUESTION';

export class DnsWireError extends KansokuError {
  declare readonly code: DnsWireErrorCode;

  constructor(code: DnsWireErrorCode, message: string) {
    super(code, message);
  }
}

export const DNS_HEADER_BYTES = 12;
const MAX_NAME_OCTETS = 255;
const MAX_LABEL_OCTETS = 63;
/** RR types read in the additional section. */
const TYPE_OPT = 41;

export interface DnsQuestion {
  /** Presentation format, lower-cased, absolute ("example.jp.", root "."). */
  name: string;
  type: number;
  class: number;
}

export interface DnsEdns {
  /** Requestor's UDP payload size. */
  udpSize: number;
  version: number;
  /** The DO bit: DNSSEC records wanted. */
  dnssecOk: boolean;
  /** The upper 8 bits of the 12-bit rcode. */
  extendedRcode: number;
}

export interface DnsMessage {
  id: number;
  /** QR: false for a query, true for a response. */
  response: boolean;
  opcode: number;
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  authenticData: boolean;
  checkingDisabled: boolean;
  /** The full response code: the header's 4 bits, plus the OPT record's extended bits when present. */
  rcode: number;
  questionCount: number;
  answerCount: number;
  authorityCount: number;
  additionalCount: number;
  /** The first question; undefined when the message has none (QDCOUNT 0). */
  question: DnsQuestion | undefined;
  edns: DnsEdns | undefined;
  /** Size of the message in bytes. */
  size: number;
  /** The message ended (or broke) after the question, before its records were all read: OPT may be missing. */
  incomplete: boolean;
}

/**
 * Reads a name starting at `offset`. Returns the name and the offset just after it in the original
 * position (a compression pointer ends the name there). Throws DnsWireError.
 */
export function readName(buf: Uint8Array, offset: number): { name: string; next: number } {
  let pos = offset;
  let next = -1;
  let octets = 1; // the root label
  let name = '';
  // Pointers must go strictly backwards: with each one the lowest offset seen falls, so it ends.
  let lowest = offset;
  for (;;) {
    if (pos >= buf.length)
      throw new DnsWireError('KANSOKU_DNS_TRUNCATED', `name runs past the end at ${pos}`);
    const length = buf[pos]!;
    if (length === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = length & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length)
        throw new DnsWireError('KANSOKU_DNS_TRUNCATED', `compression pointer cut at ${pos}`);
      const target = ((length & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= lowest)
        throw new DnsWireError(
          'KANSOKU_DNS_BAD_POINTER',
          `compression pointer at ${pos} to ${target} is not backwards`,
        );
      if (next < 0) next = pos + 2;
      lowest = target;
      pos = target;
      continue;
    }
    if (kind !== 0)
      throw new DnsWireError(
        'KANSOKU_DNS_BAD_NAME',
        `label type 0x${kind.toString(16)} at ${pos} is not supported`,
      );
    if (length > MAX_LABEL_OCTETS)
      throw new DnsWireError('KANSOKU_DNS_BAD_NAME', `label of ${length} octets at ${pos}`);
    octets += length + 1;
    if (octets > MAX_NAME_OCTETS)
      throw new DnsWireError('KANSOKU_DNS_BAD_NAME', `name longer than ${MAX_NAME_OCTETS} octets`);
    const end = pos + 1 + length;
    if (end > buf.length)
      throw new DnsWireError('KANSOKU_DNS_TRUNCATED', `label at ${pos} runs past the end`);
    for (let i = pos + 1; i < end; i++) name += presentationChar(buf[i]!);
    name += '.';
    pos = end;
  }
  return { name: name === '' ? '.' : name, next };
}

/** One label octet in presentation format (RFC 4343: ASCII lower-cased; `.`, `\` and non-printables escaped). */
function presentationChar(octet: number): string {
  if (octet >= 0x41 && octet <= 0x5a) return String.fromCharCode(octet + 0x20);
  if (octet > 0x20 && octet < 0x7f) {
    if (
      octet === 0x2e ||
      octet === 0x5c ||
      octet === 0x22 ||
      octet === 0x28 ||
      octet === 0x29 ||
      octet === 0x3b
    )
      return `\\${String.fromCharCode(octet)}`;
    return String.fromCharCode(octet);
  }
  return `\\${octet.toString().padStart(3, '0')}`;
}

/** Offset just after the name at `offset` (without decoding it). */
function skipName(buf: Uint8Array, offset: number): number {
  let pos = offset;
  for (let labels = 0; labels < 128; labels++) {
    if (pos >= buf.length) return -1;
    const length = buf[pos]!;
    if (length === 0) return pos + 1;
    if ((length & 0xc0) === 0xc0) return pos + 2 <= buf.length ? pos + 2 : -1;
    if ((length & 0xc0) !== 0) return -1;
    pos += 1 + length;
  }
  return -1;
}

/** Decodes a DNS message. Throws DnsWireError when the header or the question cannot be read. */
export function parseDnsMessage(buf: Uint8Array): DnsMessage {
  if (buf.length < DNS_HEADER_BYTES)
    throw new DnsWireError('KANSOKU_DNS_TRUNCATED', `message of ${buf.length} bytes, shorter than a header`);
  const flags = (buf[2]! << 8) | buf[3]!;
  const message: DnsMessage = {
    id: (buf[0]! << 8) | buf[1]!,
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0x0f,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    authenticData: (flags & 0x0020) !== 0,
    checkingDisabled: (flags & 0x0010) !== 0,
    rcode: flags & 0x0f,
    questionCount: (buf[4]! << 8) | buf[5]!,
    answerCount: (buf[6]! << 8) | buf[7]!,
    authorityCount: (buf[8]! << 8) | buf[9]!,
    additionalCount: (buf[10]! << 8) | buf[11]!,
    question: undefined,
    edns: undefined,
    size: buf.length,
    incomplete: false,
  };
  let pos = DNS_HEADER_BYTES;
  if (message.questionCount > 0) {
    const { name, next } = readName(buf, pos);
    if (next + 4 > buf.length)
      throw new DnsWireError('KANSOKU_DNS_TRUNCATED', 'question ends before its type and class');
    message.question = {
      name,
      type: (buf[next]! << 8) | buf[next + 1]!,
      class: (buf[next + 2]! << 8) | buf[next + 3]!,
    };
    pos = next + 4;
    // Further questions (never seen in practice) are skipped.
    for (let q = 1; q < message.questionCount; q++) {
      const after = skipName(buf, pos);
      if (after < 0 || after + 4 > buf.length) {
        message.incomplete = true;
        return message;
      }
      pos = after + 4;
    }
  }
  readOpt(buf, pos, message);
  return message;
}

/** Walks the answer, authority and additional records to the OPT record; marks the message incomplete if cut. */
function readOpt(buf: Uint8Array, start: number, message: DnsMessage): void {
  let pos = start;
  const before = message.answerCount + message.authorityCount;
  const total = before + message.additionalCount;
  for (let i = 0; i < total; i++) {
    const after = skipName(buf, pos);
    if (after < 0 || after + 10 > buf.length) {
      message.incomplete = true;
      return;
    }
    const type = (buf[after]! << 8) | buf[after + 1]!;
    const rdLength = (buf[after + 8]! << 8) | buf[after + 9]!;
    const end = after + 10 + rdLength;
    if (end > buf.length) {
      message.incomplete = true;
      return;
    }
    if (i >= before && type === TYPE_OPT && message.edns === undefined) {
      const extendedRcode = buf[after + 4]!;
      message.edns = {
        udpSize: (buf[after + 2]! << 8) | buf[after + 3]!,
        extendedRcode,
        version: buf[after + 5]!,
        dnssecOk: (buf[after + 6]! & 0x80) !== 0,
      };
      message.rcode |= extendedRcode << 4;
    }
    pos = end;
  }
}

/** Like parseDnsMessage, but returns the error instead of throwing it (hot paths that count failures). */
export function tryParseDnsMessage(
  buf: Uint8Array,
): { ok: true; message: DnsMessage } | { ok: false; error: DnsWireError } {
  try {
    return { ok: true, message: parseDnsMessage(buf) };
  } catch (error) {
    if (error instanceof DnsWireError) return { ok: false, error };
    throw error;
  }
}
