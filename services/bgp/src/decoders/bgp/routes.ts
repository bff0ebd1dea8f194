/**
 * An UPDATE's routes across families, with RFC 7606 treat-as-withdraw applied: what a RIB applies.
 */

import type { BgpUpdate, Prefix } from './types.ts';

export interface UpdateRoutes {
  /** Announced prefixes: IPv4 NLRI then MP_REACH NLRI; empty when the UPDATE is treat-as-withdraw. */
  announced: Prefix[];
  /** Withdrawn prefixes: IPv4 withdrawn, MP_UNREACH, then (treat-as-withdraw) the announced ones. */
  withdrawn: Prefix[];
  /** MP_UNREACH_NLRI without prefixes: an End-of-RIB marker for that family (RFC 4724 §2). */
  endOfRib?: { afi: number; safi: number };
}

export function updateRoutes(update: BgpUpdate): UpdateRoutes {
  const { attributes } = update;
  const announced = [...update.nlri, ...(attributes.mpReach?.nlri ?? [])];
  const withdrawn = [...update.withdrawn, ...(attributes.mpUnreach?.withdrawn ?? [])];
  const routes: UpdateRoutes = attributes.treatAsWithdraw
    ? { announced: [], withdrawn: [...withdrawn, ...announced] }
    : { announced, withdrawn };
  const unreach = attributes.mpUnreach;
  if (unreach !== undefined && unreach.withdrawn.length === 0 && announced.length === 0) {
    routes.endOfRib = { afi: unreach.afi, safi: unreach.safi };
  } else if (
    update.withdrawn.length === 0 &&
    update.nlri.length === 0 &&
    attributes.asPathReceived === undefined &&
    attributes.mpReach === undefined &&
    attributes.mpUnreach === undefined &&
    attributes.otherFamilies.length === 0
  ) {
    // An empty UPDATE is the IPv4 unicast End-of-RIB marker.
    routes.endOfRib = { afi: 1, safi: 1 };
  }
  return routes;
}
