/** BMP (RFC 7854, RFC 9069, RFC 8671): stream framing, message decoding and per-router session state. */

export * from './bgp-pdu.ts';
export * from './errors.ts';
export * from './framer.ts';
export * from './parse.ts';
export * from './session.ts';
export * from './types.ts';
