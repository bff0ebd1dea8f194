/**
 * The little of BGP a BMP station reads itself: the 19-byte message header, the OPEN's capabilities (to know
 * how the session's UPDATEs are encoded) and a NOTIFICATION's code and subcode (Peer Down). UPDATEs are
 * decoded by the BGP message parser.
 */

import { ByteReader } from '@kansoku/kit/net/byte-reader';
import { formatIPv4 } from '@kansoku/kit/net/ip-address';
import { BmpDecodeError, BmpErrorCode } from './errors.ts';
import type { BgpNotificationSummary, BgpOpenSummary } from './types.ts';

export const BGP_HEADER_LENGTH = 19;
export const BgpMessageTypeCode = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  ROUTE_REFRESH: 5,
} as const;

const CAPABILITY_FOUR_OCTET_AS = 65;
const CAPABILITY_ADD_PATH = 69;
const OPTIONAL_PARAMETER_CAPABILITIES = 2;
/** RFC 9072: an optional parameters length of 255 followed by a parameter type of 255 announces 2-byte lengths. */
const EXTENDED_OPTIONAL_PARAMETERS = 255;

/**
 * Reads one BGP message (header and body) from `reader`: checks the marker and that the length covers the
 * header; returns the whole message and its type. Throws BAD_BGP_PDU or TRUNCATED.
 */
export function readBgpMessage(reader: ByteReader): { type: number; pdu: Buffer } {
  reader.require(BGP_HEADER_LENGTH);
  const start = reader.buffer.subarray(reader.position);
  for (let i = 0; i < 16; i++) {
    if (start[i] !== 0xff) throw new BmpDecodeError(BmpErrorCode.BAD_BGP_PDU, 'BGP marker is not all ones');
  }
  const length = start.readUInt16BE(16);
  if (length < BGP_HEADER_LENGTH) {
    throw new BmpDecodeError(BmpErrorCode.BAD_BGP_PDU, `BGP message length ${length} below its header`);
  }
  const type = start[18]!;
  return { type, pdu: reader.bytes(length) };
}

function expectType(pdu: Buffer, expected: number, what: string): ByteReader {
  const message = readBgpMessage(new ByteReader(pdu));
  if (message.type !== expected) {
    throw new BmpDecodeError(
      BmpErrorCode.BAD_BGP_PDU,
      `${what}: BGP message type ${message.type}, expected ${expected}`,
    );
  }
  const body = new ByteReader(message.pdu);
  body.skip(BGP_HEADER_LENGTH);
  return body;
}

/** The fields and capabilities of an OPEN message (`pdu`: the whole message, header included). */
export function parseOpenSummary(pdu: Buffer): BgpOpenSummary {
  const reader = expectType(pdu, BgpMessageTypeCode.OPEN, 'OPEN');
  const version = reader.u8();
  const myAs = reader.u16();
  const holdTime = reader.u16();
  const bgpId = formatIPv4(reader.bytes(4));
  let parametersLength = reader.u8();
  let extended = false;
  if (parametersLength === EXTENDED_OPTIONAL_PARAMETERS && reader.remaining >= 3) {
    if (reader.peekU8() === EXTENDED_OPTIONAL_PARAMETERS) {
      reader.skip(1);
      parametersLength = reader.u16();
      extended = true;
    }
  }
  const parameters = reader.sub(parametersLength);
  const capabilities: { code: number; value: Buffer }[] = [];
  while (!parameters.atEnd) {
    const parameterType = parameters.u8();
    const parameterLength = extended ? parameters.u16() : parameters.u8();
    const parameter = parameters.sub(parameterLength);
    if (parameterType !== OPTIONAL_PARAMETER_CAPABILITIES) continue;
    while (!parameter.atEnd) {
      const code = parameter.u8();
      const length = parameter.u8();
      capabilities.push({ code, value: parameter.bytes(length) });
    }
  }
  let asn = myAs;
  let fourOctetAs = false;
  const addPath: { afi: number; safi: number; sendReceive: number }[] = [];
  for (const { code, value } of capabilities) {
    if (code === CAPABILITY_FOUR_OCTET_AS) {
      if (value.length !== 4) {
        throw new BmpDecodeError(BmpErrorCode.BAD_BGP_PDU, `4-octet AS capability of ${value.length} bytes`);
      }
      fourOctetAs = true;
      asn = value.readUInt32BE(0);
    } else if (code === CAPABILITY_ADD_PATH) {
      if (value.length % 4 !== 0) {
        throw new BmpDecodeError(BmpErrorCode.BAD_BGP_PDU, `ADD-PATH capability of ${value.length} bytes`);
      }
      for (let at = 0; at < value.length; at += 4) {
        addPath.push({ afi: value.readUInt16BE(at), safi: value[at + 2]!, sendReceive: value[at + 3]! });
      }
    }
  }
  return { version, myAs, asn, holdTime, bgpId, capabilities, fourOctetAs, addPath, pdu };
}

/** A NOTIFICATION's error code, subcode and data (`pdu`: the whole message). */
export function parseNotificationSummary(pdu: Buffer): BgpNotificationSummary {
  const reader = expectType(pdu, BgpMessageTypeCode.NOTIFICATION, 'NOTIFICATION');
  return { code: reader.u8(), subcode: reader.u8(), data: reader.rest() };
}

const ADD_PATH_RECEIVE = 1;
const ADD_PATH_SEND = 2;

/**
 * Families in which `sender` puts path identifiers in its UPDATEs to `receiver`: the sender advertised
 * "send" and the receiver "receive" for the same AFI/SAFI (RFC 7911 §4).
 */
export function negotiatedAddPath(sender: BgpOpenSummary, receiver: BgpOpenSummary): Set<string> {
  const receives = new Set(
    receiver.addPath.filter((entry) => entry.sendReceive & ADD_PATH_RECEIVE).map((e) => `${e.afi}/${e.safi}`),
  );
  const families = new Set<string>();
  for (const entry of sender.addPath) {
    const key = `${entry.afi}/${entry.safi}`;
    if (entry.sendReceive & ADD_PATH_SEND && receives.has(key)) families.add(key);
  }
  return families;
}
