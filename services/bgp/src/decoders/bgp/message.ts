/**
 * BGP-4 messages (RFC 4271 §4): the 19-octet header (all-ones marker, length, type) and OPEN with capabilities
 * (RFC 5492; 4-octet AS RFC 6793, multiprotocol RFC 4760, ADD-PATH RFC 7911, extended optional parameters
 * RFC 9072), UPDATE, NOTIFICATION, KEEPALIVE and ROUTE-REFRESH (RFC 2918, RFC 7313). Messages up to 65535 octets
 * are accepted (RFC 8654 extended messages; MRT captures hold such UPDATEs).
 *
 * Every failure is a BgpDecodeError with a stable `KANSOKU_BGP_…` code; recoverable attribute errors are
 * reported on the UPDATE instead (see attributes.ts).
 */

import { ByteReader, TruncatedInputError } from '@kansoku/kit/net/byte-reader';

import {
  ATTR_AS_PATH,
  ATTR_NEXT_HOP,
  ATTR_ORIGIN,
  nlriMalformed,
  parsePathAttributes,
} from './attributes.ts';
import { BGP_ERROR_CODES, BgpDecodeError } from './errors.ts';
import { readPrefixesUntilError } from './prefix.ts';
import {
  AFI_IPV4,
  BGP_KEEPALIVE,
  BGP_NOTIFICATION,
  BGP_OPEN,
  BGP_ROUTE_REFRESH,
  BGP_UPDATE,
  type BgpMessage,
  type BgpOpen,
  type BgpSessionOptions,
  type BgpUpdate,
  SAFI_UNICAST,
} from './types.ts';

export const BGP_HEADER_LENGTH = 19;
export const BGP_MAX_MESSAGE_LENGTH = 65535;

const CAPABILITY_MULTIPROTOCOL = 1;
const CAPABILITY_ROUTE_REFRESH = 2;
const CAPABILITY_FOUR_OCTET_AS = 65;
const CAPABILITY_ADD_PATH = 69;
const PARAMETER_CAPABILITIES = 2;
const PARAMETER_EXTENDED_LENGTH = 255;

/** Session options for a plain 4-octet-AS session without ADD-PATH. */
export const AS4_SESSION: BgpSessionOptions = { as4: true, addPath: () => false };
/** Session options for a 2-octet-AS session without ADD-PATH. */
export const AS2_SESSION: BgpSessionOptions = { as4: false, addPath: () => false };

/**
 * Parses the BGP message at the start of `buf` (header included). `buf` may hold more bytes after it (the
 * caller advances by the returned `length`). Throws BgpDecodeError.
 */
export function parseBgpMessage(buf: Uint8Array, options: BgpSessionOptions): BgpMessage {
  const data = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (data.length < BGP_HEADER_LENGTH) {
    throw new BgpDecodeError(
      BGP_ERROR_CODES.badLength,
      `${data.length} bytes, shorter than the ${BGP_HEADER_LENGTH}-byte header`,
    );
  }
  for (let i = 0; i < 16; i++) {
    if (data[i] !== 0xff) throw new BgpDecodeError(BGP_ERROR_CODES.badMarker, 'marker is not all ones');
  }
  const length = data.readUInt16BE(16);
  const type = data[18]!;
  if (length < BGP_HEADER_LENGTH || length > data.length) {
    throw new BgpDecodeError(
      BGP_ERROR_CODES.badLength,
      `header length ${length} with ${data.length} bytes available`,
    );
  }
  return parseBgpMessageBody(type, data.subarray(BGP_HEADER_LENGTH, length), options, length);
}

/**
 * Parses a message body without its header, for formats that carry the type elsewhere (the deprecated MRT
 * type 5 "BGP" records). `length` is reported as the message's length (default: body + 19).
 */
export function parseBgpMessageBody(
  type: number,
  body: Buffer,
  options: BgpSessionOptions,
  length = body.length + BGP_HEADER_LENGTH,
): BgpMessage {
  try {
    switch (type) {
      case BGP_OPEN:
        return parseOpen(body, length);
      case BGP_UPDATE:
        return parseUpdate(body, options, length);
      case BGP_NOTIFICATION: {
        if (body.length < 2) {
          throw new BgpDecodeError(BGP_ERROR_CODES.badMessageBody, `NOTIFICATION of ${body.length} bytes`);
        }
        return {
          type: 'notification',
          length,
          code: body[0]!,
          subcode: body[1]!,
          data: Uint8Array.prototype.slice.call(body, 2),
        };
      }
      case BGP_KEEPALIVE:
        if (body.length !== 0) {
          throw new BgpDecodeError(
            BGP_ERROR_CODES.badMessageBody,
            `KEEPALIVE with ${body.length} body bytes`,
          );
        }
        return { type: 'keepalive', length };
      case BGP_ROUTE_REFRESH:
        if (body.length !== 4) {
          throw new BgpDecodeError(BGP_ERROR_CODES.badMessageBody, `ROUTE-REFRESH of ${body.length} bytes`);
        }
        return {
          type: 'route-refresh',
          length,
          afi: body.readUInt16BE(0),
          subtype: body[2]!,
          safi: body[3]!,
        };
      default:
        throw new BgpDecodeError(BGP_ERROR_CODES.badType, `message type ${type}`);
    }
  } catch (error) {
    // The parsers below read through ByteReader; a truncation inside a message is reported with the code of
    // the message part, so callers see KANSOKU_BGP_* codes only.
    if (error instanceof TruncatedInputError) {
      throw new BgpDecodeError(
        type === BGP_OPEN ? BGP_ERROR_CODES.badOpen : BGP_ERROR_CODES.badMessageBody,
        `message type ${type} truncated: ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  }
}

function parseOpen(body: Buffer, length: number): BgpOpen {
  const reader = new ByteReader(body);
  const version = reader.u8();
  const myAs = reader.u16();
  const holdTime = reader.u16();
  const bgpId = new Uint8Array(reader.bytes(4));
  let parametersLength = reader.u8();
  // RFC 9072: a length of 255 followed by a parameter type of 255 announces 2-octet lengths.
  let extended = false;
  if (parametersLength === 255 && reader.remaining >= 3 && reader.peekU8() === PARAMETER_EXTENDED_LENGTH) {
    reader.skip(1);
    parametersLength = reader.u16();
    extended = true;
  }
  if (parametersLength !== reader.remaining) {
    throw new BgpDecodeError(
      BGP_ERROR_CODES.badOpen,
      `optional parameters length ${parametersLength}, ${reader.remaining} bytes follow`,
    );
  }
  const open: BgpOpen = {
    type: 'open',
    length,
    version,
    myAs,
    asn: myAs,
    holdTime,
    bgpId,
    capabilities: [],
    multiprotocol: [],
    addPath: [],
    routeRefresh: false,
    otherParameters: [],
  };
  while (!reader.atEnd) {
    const parameterType = reader.u8();
    const parameterLength = extended ? reader.u16() : reader.u8();
    const value = reader.sub(parameterLength);
    if (parameterType !== PARAMETER_CAPABILITIES) {
      open.otherParameters.push({ type: parameterType, value: new Uint8Array(value.rest()) });
      continue;
    }
    while (!value.atEnd) {
      const code = value.u8();
      const capability = value.sub(value.u8());
      const bytes = capability.buffer;
      open.capabilities.push({ code, value: new Uint8Array(bytes) });
      if (code === CAPABILITY_FOUR_OCTET_AS && bytes.length === 4) {
        open.fourOctetAs = bytes.readUInt32BE(0);
        open.asn = open.fourOctetAs;
      } else if (code === CAPABILITY_MULTIPROTOCOL && bytes.length === 4) {
        open.multiprotocol.push({ afi: bytes.readUInt16BE(0), safi: bytes[3]! });
      } else if (code === CAPABILITY_ADD_PATH && bytes.length % 4 === 0) {
        for (let i = 0; i < bytes.length; i += 4) {
          open.addPath.push({ afi: bytes.readUInt16BE(i), safi: bytes[i + 2]!, sendReceive: bytes[i + 3]! });
        }
      } else if (code === CAPABILITY_ROUTE_REFRESH) {
        open.routeRefresh = true;
      }
    }
  }
  return open;
}

function parseUpdate(body: Buffer, options: BgpSessionOptions, length: number): BgpUpdate {
  if (body.length < 4) {
    throw new BgpDecodeError(BGP_ERROR_CODES.badUpdateLengths, `UPDATE body of ${body.length} bytes`);
  }
  const withdrawnLength = body.readUInt16BE(0);
  if (2 + withdrawnLength + 2 > body.length) {
    throw new BgpDecodeError(
      BGP_ERROR_CODES.badUpdateLengths,
      `withdrawn routes length ${withdrawnLength} overruns the ${body.length}-byte UPDATE`,
    );
  }
  const attributesLength = body.readUInt16BE(2 + withdrawnLength);
  const attributesStart = 4 + withdrawnLength;
  if (attributesStart + attributesLength > body.length) {
    throw new BgpDecodeError(
      BGP_ERROR_CODES.badUpdateLengths,
      `path attributes length ${attributesLength} overruns the ${body.length}-byte UPDATE`,
    );
  }
  const addPathV4 = options.addPath(AFI_IPV4, SAFI_UNICAST);
  const withdrawnRead = readPrefixesUntilError(body.subarray(2, 2 + withdrawnLength), AFI_IPV4, addPathV4);
  const attributes = parsePathAttributes(
    body.subarray(attributesStart, attributesStart + attributesLength),
    options,
  );
  const nlriRead = readPrefixesUntilError(
    body.subarray(attributesStart + attributesLength),
    AFI_IPV4,
    addPathV4,
  );
  if (withdrawnRead.error !== undefined)
    nlriMalformed(attributes, 0, `withdrawn routes: ${withdrawnRead.error}`);
  if (nlriRead.error !== undefined) nlriMalformed(attributes, 0, `NLRI: ${nlriRead.error}`);
  const withdrawn = withdrawnRead.prefixes;
  const nlri = nlriRead.prefixes;

  // RFC 7606 §3 d: a missing well-known mandatory attribute is treat-as-withdraw when routes are announced.
  // NEXT_HOP is mandatory only for IPv4 NLRI in the UPDATE's own NLRI field (RFC 4760 §3).
  const announces = nlri.length > 0 || (attributes.mpReach?.nlri.length ?? 0) > 0;
  if (announces) {
    const missing: number[] = [];
    if (attributes.origin === undefined && !hasError(attributes, ATTR_ORIGIN)) missing.push(ATTR_ORIGIN);
    if (attributes.asPathReceived === undefined && !hasError(attributes, ATTR_AS_PATH))
      missing.push(ATTR_AS_PATH);
    if (nlri.length > 0 && attributes.nextHop === undefined && !hasError(attributes, ATTR_NEXT_HOP)) {
      missing.push(ATTR_NEXT_HOP);
    }
    for (const type of missing) {
      attributes.errors.push({
        code: 'KANSOKU_BGP_ATTRIBUTE_MISSING',
        type,
        action: 'treat-as-withdraw',
        message: `well-known mandatory attribute ${type} missing`,
      });
      attributes.treatAsWithdraw = true;
    }
  }
  return { type: 'update', length, withdrawn, attributes, nlri };
}

function hasError(attributes: { errors: { type: number }[] }, type: number): boolean {
  return attributes.errors.some((error) => error.type === type);
}
