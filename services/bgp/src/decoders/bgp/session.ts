/**
 * The session options an UPDATE's wire format depends on, from the two OPEN messages of the session (a BMP
 * Peer Up carries both): 4-octet AS when both sides sent the capability (RFC 6793 §4), ADD-PATH for a family
 * in the direction the UPDATEs travel when the sender said it sends (2 or 3) and the receiver said it receives
 * (1 or 3) (RFC 7911 §4).
 */

import type { BgpOpen, BgpSessionOptions } from './types.ts';

const SEND = 2;
const RECEIVE = 1;

/** Options for parsing the UPDATEs that `sender` sends to `receiver`. */
export function sessionOptionsFromOpens(sender: BgpOpen, receiver: BgpOpen): BgpSessionOptions {
  const as4 = sender.fourOctetAs !== undefined && receiver.fourOctetAs !== undefined;
  const families = new Set<string>();
  for (const sent of sender.addPath) {
    if ((sent.sendReceive & SEND) === 0) continue;
    const received = receiver.addPath.find((family) => family.afi === sent.afi && family.safi === sent.safi);
    if (received !== undefined && (received.sendReceive & RECEIVE) !== 0)
      families.add(`${sent.afi}/${sent.safi}`);
  }
  if (families.size === 0) return { as4, addPath: () => false };
  return { as4, addPath: (afi, safi) => families.has(`${afi}/${safi}`) };
}
