/**
 * Path attribute sets interned across every peer: a full table has a few hundred thousand distinct sets for a
 * million routes (one UPDATE announces many prefixes with one set), and peers of the same router share most of
 * theirs. A set is stored once as its canonical text (compact one-byte string) with its origin AS in a typed
 * array; routes hold its 4-byte id. Sets are reference-counted and their ids reused when no route holds them.
 */

import type { RouteUpdate } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';

/** The attributes of a route, decoded back from the interned text. */
export interface RouteAttributes {
  /** AS path in text: sequences space-separated, sets in braces (`64500 {64501,64502}`), confed in ( ) / [ ]. */
  asPath: string;
  originAs: number;
  nextHop: string;
  communities: string[];
  largeCommunities: string[];
  extendedCommunities: string[];
  localPref?: number;
  med?: number;
  /** 0 unspecified, 1 IGP, 2 EGP, 3 INCOMPLETE (the proto's numbers). */
  origin: number;
  atomicAggregate: boolean;
}

const FIELD_SEPARATOR = '\t';

function formatPath(update: Pick<RouteUpdate, 'asPath'>): string {
  const parts: string[] = [];
  for (const segment of update.asPath) {
    const asns = segment.asns.join(segment.type === 2 || segment.type === 3 ? ' ' : ',');
    if (segment.type === 1) parts.push(`{${asns}}`);
    else if (segment.type === 3) parts.push(`(${asns})`);
    else if (segment.type === 4) parts.push(`[${asns}]`);
    else parts.push(asns);
  }
  return parts.join(' ');
}

/** Canonical text of an announcement's attributes (the interning key). */
export function attributeKey(
  update: Pick<
    RouteUpdate,
    | 'asPath'
    | 'nextHopAddress'
    | 'communities'
    | 'largeCommunities'
    | 'extendedCommunities'
    | 'localPref'
    | 'med'
    | 'origin'
    | 'atomicAggregate'
    | 'originAs'
  >,
): string {
  const nextHop = update.nextHopAddress.length > 0 ? formatIpAddress(update.nextHopAddress) : '';
  const large = update.largeCommunities
    .map((c) => `${c.globalAdministrator}:${c.localData1}:${c.localData2}`)
    .join(' ');
  const communities = update.communities.map((c) => `${c >>> 16}:${c & 0xffff}`).join(' ');
  const extended = update.extendedCommunities.map((c) => c.toString(16)).join(' ');
  return [
    update.originAs,
    formatPath(update),
    nextHop,
    communities,
    large,
    extended,
    update.localPref ?? '',
    update.med ?? '',
    update.origin,
    update.atomicAggregate ? 1 : 0,
  ].join(FIELD_SEPARATOR);
}

export function parseAttributeKey(key: string): RouteAttributes {
  const [
    originAs = '0',
    asPath = '',
    nextHop = '',
    communities = '',
    large = '',
    extended = '',
    localPref = '',
    med = '',
    origin = '0',
    atomic = '0',
  ] = key.split(FIELD_SEPARATOR);
  const list = (text: string): string[] => (text === '' ? [] : text.split(' '));
  return {
    asPath,
    originAs: Number(originAs),
    nextHop,
    communities: list(communities),
    largeCommunities: list(large),
    extendedCommunities: list(extended),
    ...(localPref === '' ? {} : { localPref: Number(localPref) }),
    ...(med === '' ? {} : { med: Number(med) }),
    origin: Number(origin),
    atomicAggregate: atomic === '1',
  };
}

export class AttributeTable {
  size = 0;
  private readonly ids = new Map<string, number>();
  private keys: (string | undefined)[] = [];
  private origins = new Uint32Array(1024);
  private references = new Uint32Array(1024);
  private freeIds: number[] = [];

  /** Id of the set (one more reference to it). */
  acquire(key: string, originAs: number): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.freeIds.pop() ?? this.keys.length;
      if (id === this.keys.length) this.keys.push(key);
      else this.keys[id] = key;
      if (id >= this.origins.length) {
        const origins = new Uint32Array(this.origins.length * 2);
        origins.set(this.origins);
        this.origins = origins;
        const references = new Uint32Array(this.references.length * 2);
        references.set(this.references);
        this.references = references;
      }
      this.origins[id] = originAs;
      this.references[id] = 0;
      this.ids.set(key, id);
      this.size++;
    }
    this.references[id]!++;
    return id;
  }

  /** One reference less; the set is forgotten with its last one. */
  release(id: number): void {
    const left = this.references[id]! - 1;
    this.references[id] = left;
    if (left > 0) return;
    const key = this.keys[id];
    if (key !== undefined) this.ids.delete(key);
    this.keys[id] = undefined;
    this.freeIds.push(id);
    this.size--;
  }

  originAs(id: number): number {
    return this.origins[id]!;
  }

  key(id: number): string {
    return this.keys[id] ?? '';
  }

  attributes(id: number): RouteAttributes {
    return parseAttributeKey(this.key(id));
  }
}
