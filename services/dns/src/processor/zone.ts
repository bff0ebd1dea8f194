/**
 * The registered domain ("zone") of a query name, public-suffix aware (tldts, ICANN section): `www.example.co.jp.`
 * → `example.co.jp.`. Rollups and the random-subdomain detector group by it, so a flood of random labels under
 * one victim stays one key. Names without a registrable domain (a bare TLD, `.`, `localhost`) keep their last
 * two labels at most; reverse names group per /16 (in-addr.arpa) or /32 (ip6.arpa).
 */
import { parse } from 'tldts';

const CACHE_LIMIT = 50_000;
const cache = new Map<string, string>();

function lastLabels(name: string, count: number): string {
  const labels = name.split('.');
  return labels.slice(Math.max(0, labels.length - count)).join('.');
}

/** `qname` in presentation format with its trailing dot; the zone comes back with one too. */
export function registeredDomain(qname: string): string {
  if (qname === '' || qname === '.') return '.';
  const bare = qname.endsWith('.') ? qname.slice(0, -1) : qname;
  // Most traffic is a few thousand popular names: the cache avoids parsing them again.
  const known = cache.get(bare);
  if (known !== undefined) return known;
  let zone: string;
  if (bare.endsWith('.in-addr.arpa')) {
    // Reverse zones per /16 (IPv4) and /32 (IPv6): the granularity operators delegate at.
    zone = lastLabels(bare, 4);
  } else if (bare.endsWith('.ip6.arpa')) {
    zone = lastLabels(bare, 10);
  } else if (bare.endsWith('.arpa')) {
    zone = lastLabels(bare, 2);
  } else {
    const parsed = parse(bare, {
      allowPrivateDomains: false,
      extractHostname: false,
      validateHostname: false,
    });
    zone = parsed.domain ?? lastLabels(bare, 2);
  }
  zone = `${zone}.`;
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(bare, zone);
  return zone;
}

/** The labels of `qname` left of its zone (`a1b2.www` for `a1b2.www.example.jp.`), '' when none. */
export function subdomainPart(qname: string, zone: string): string {
  if (qname.length <= zone.length) return '';
  return qname.slice(0, qname.length - zone.length - 1);
}
