/**
 * Mnemonics of RR types, classes and response codes (IANA DNS parameters), as resolvers print them in
 * their logs, both ways; unknown values use the RFC 3597 forms TYPE<n>, CLASS<n> and RCODE<n>.
 */

const TYPES: Record<string, number> = {
  A: 1,
  NS: 2,
  MD: 3,
  MF: 4,
  CNAME: 5,
  SOA: 6,
  MB: 7,
  MG: 8,
  MR: 9,
  NULL: 10,
  WKS: 11,
  PTR: 12,
  HINFO: 13,
  MINFO: 14,
  MX: 15,
  TXT: 16,
  RP: 17,
  AFSDB: 18,
  X25: 19,
  ISDN: 20,
  RT: 21,
  NSAP: 22,
  'NSAP-PTR': 23,
  SIG: 24,
  KEY: 25,
  PX: 26,
  GPOS: 27,
  AAAA: 28,
  LOC: 29,
  NXT: 30,
  EID: 31,
  NIMLOC: 32,
  SRV: 33,
  ATMA: 34,
  NAPTR: 35,
  KX: 36,
  CERT: 37,
  A6: 38,
  DNAME: 39,
  SINK: 40,
  OPT: 41,
  APL: 42,
  DS: 43,
  SSHFP: 44,
  IPSECKEY: 45,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  DHCID: 49,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SMIMEA: 53,
  HIP: 55,
  NINFO: 56,
  RKEY: 57,
  TALINK: 58,
  CDS: 59,
  CDNSKEY: 60,
  OPENPGPKEY: 61,
  CSYNC: 62,
  ZONEMD: 63,
  SVCB: 64,
  HTTPS: 65,
  SPF: 99,
  UINFO: 100,
  UID: 101,
  GID: 102,
  UNSPEC: 103,
  NID: 104,
  L32: 105,
  L64: 106,
  LP: 107,
  EUI48: 108,
  EUI64: 109,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  URI: 256,
  CAA: 257,
  AVC: 258,
  DOA: 259,
  AMTRELAY: 260,
  RESINFO: 261,
  TA: 32768,
  DLV: 32769,
};

const CLASSES: Record<string, number> = { IN: 1, CS: 2, CH: 3, HS: 4, NONE: 254, ANY: 255 };

const RCODES: Record<string, number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  NOTIMPL: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  DSOTYPENI: 11,
  BADVERS: 16,
  BADSIG: 16,
  BADKEY: 17,
  BADTIME: 18,
  BADMODE: 19,
  BADNAME: 20,
  BADALG: 21,
  BADTRUNC: 22,
  BADCOOKIE: 23,
};

const TYPE_NAMES = new Map(Object.entries(TYPES).map(([name, value]) => [value, name]));

function lookup(
  table: Record<string, number>,
  generic: string,
  text: string,
  max: number,
): number | undefined {
  const upper = text.toUpperCase();
  const known = table[upper];
  if (known !== undefined) return known;
  if (upper.startsWith(generic)) {
    const digits = upper.slice(generic.length);
    if (/^[0-9]{1,5}$/.test(digits)) {
      const value = Number(digits);
      if (value <= max) return value;
    }
  }
  return undefined;
}

/** RR type number of a mnemonic (`AAAA`, `https`, `TYPE65534`); undefined when it is none. */
export function rrTypeNumber(text: string): number | undefined {
  return lookup(TYPES, 'TYPE', text, 0xffff);
}

/** Mnemonic of an RR type number, or TYPE<n>. */
export function rrTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

export function rrClassNumber(text: string): number | undefined {
  return lookup(CLASSES, 'CLASS', text, 0xffff);
}

/** Response code of a mnemonic (`NXDOMAIN`, `RCODE12`); undefined when it is none. */
export function rcodeNumber(text: string): number | undefined {
  return lookup(RCODES, 'RCODE', text, 0xfff);
}
