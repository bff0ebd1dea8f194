/**
 * AS_PATH helpers: the AS4_PATH merge of RFC 6793 §4.2.3, the path length of RFC 4271 §9.1.2.2, the origin AS and
 * bgpdump's text form.
 */

import { AS_CONFED_SEQUENCE, AS_CONFED_SET, AS_SEQUENCE, AS_SET, type AsPathSegment } from './types.ts';

/** AS_TRANS (RFC 6793): what a 2-octet field holds in place of a 4-octet ASN. */
export const AS_TRANS = 23456;

/** Path length for route selection and the AS4 merge: a sequence counts its ASNs, a set 1, confed segments 0. */
export function asPathLength(path: readonly AsPathSegment[]): number {
  let length = 0;
  for (const segment of path) {
    if (segment.type === AS_SEQUENCE) length += segment.asns.length;
    else if (segment.type === AS_SET) length += 1;
  }
  return length;
}

/**
 * RFC 6793 §4.2.3: the path a 2-octet speaker's UPDATE really carries. AS4_PATH confed segments are dropped
 * (they must not be there); when AS_PATH is shorter than AS4_PATH, AS4_PATH is ignored; otherwise the leading
 * `length(AS_PATH) - length(AS4_PATH)` ASes of AS_PATH (ASes prepended by 2-octet speakers that did not pass
 * AS4_PATH on, plus any leading confed segments) are followed by AS4_PATH.
 */
export function mergeAs4Path(
  asPath: readonly AsPathSegment[],
  as4Path: readonly AsPathSegment[],
): AsPathSegment[] {
  const as4 = as4Path.filter((segment) => segment.type === AS_SEQUENCE || segment.type === AS_SET);
  const keep = asPathLength(asPath) - asPathLength(as4);
  if (keep < 0) return asPath.map((segment) => ({ type: segment.type, asns: [...segment.asns] }));
  const merged: AsPathSegment[] = [];
  let budget = keep;
  for (const segment of asPath) {
    if (segment.type === AS_CONFED_SEQUENCE || segment.type === AS_CONFED_SET) {
      if (budget > 0 || merged.length === 0) merged.push({ type: segment.type, asns: [...segment.asns] });
      continue;
    }
    if (budget <= 0) break;
    if (segment.type === AS_SET) {
      merged.push({ type: AS_SET, asns: [...segment.asns] });
      budget -= 1;
    } else {
      const taken = segment.asns.slice(0, budget);
      merged.push({ type: AS_SEQUENCE, asns: taken });
      budget -= taken.length;
    }
  }
  for (const segment of as4) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.type === AS_SEQUENCE && segment.type === AS_SEQUENCE) {
      last.asns.push(...segment.asns);
    } else {
      merged.push({ type: segment.type, asns: [...segment.asns] });
    }
  }
  return merged;
}

/**
 * The AS that originated the route: the last AS of the path when the path ends in an AS_SEQUENCE. For a path
 * that ends in an AS_SET (an aggregate, RFC 4271 §9.2.2.2) the answer is `undefined`, not a guess: any member
 * of the set may have originated part of the aggregate, so naming one (the first or the last) would turn an
 * aggregate into a false origin change for hijack detection. This matches RFC 6811 route origin validation,
 * where such a route has no single origin AS ("NONE"), and RFC 6472, which deprecates AS_SET. The contract's
 * `origin_as` is 0 in that case. An empty path (a route originated by the peer's own AS, iBGP) gives
 * `undefined` as well: the caller knows the peer's AS. Trailing confed segments are skipped (they are the
 * local confederation, not an origin).
 */
export function originAs(path: readonly AsPathSegment[] | undefined): number | undefined {
  if (path === undefined) return undefined;
  for (let i = path.length - 1; i >= 0; i--) {
    const segment = path[i]!;
    if (segment.type === AS_CONFED_SEQUENCE || segment.type === AS_CONFED_SET) continue;
    if (segment.type === AS_SET) return undefined;
    if (segment.asns.length > 0) return segment.asns[segment.asns.length - 1];
  }
  return undefined;
}

/**
 * Text form as bgpdump prints it: sequence ASNs separated by spaces, `{a,b}` for an AS_SET, `(a b)` for an
 * AS_CONFED_SEQUENCE, `[a,b]` for an AS_CONFED_SET, segments separated by a space.
 */
export function formatAsPath(path: readonly AsPathSegment[] | undefined): string {
  if (path === undefined) return '';
  const parts: string[] = [];
  for (const segment of path) {
    switch (segment.type) {
      case AS_SEQUENCE:
        if (segment.asns.length > 0) parts.push(segment.asns.join(' '));
        break;
      case AS_SET:
        parts.push(`{${segment.asns.join(',')}}`);
        break;
      case AS_CONFED_SEQUENCE:
        parts.push(`(${segment.asns.join(' ')})`);
        break;
      case AS_CONFED_SET:
        parts.push(`[${segment.asns.join(',')}]`);
        break;
    }
  }
  return parts.join(' ');
}
