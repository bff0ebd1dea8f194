/**
 * Enrichment interfaces that one domain implements and another consumes, so domains never import each other.
 * The flows collector asks "which AS originates this address?"; a prefix table from configuration answers
 * until the BGP domain answers from its live RIB.
 */

/** Origin AS of the longest prefix that covers an address. */
export interface OriginAsLookup {
  /** `address` is 4 (IPv4) or 16 (IPv6) octets; undefined when no prefix covers it. */
  originAs(address: Uint8Array): number | undefined;
}
