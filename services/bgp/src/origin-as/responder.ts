/**
 * Answers IP → origin AS requests on NATS from the live RIB (kit's `ORIGIN_AS_SUBJECT` wire format: batched
 * addresses in, ASN and cache-block length per address out). Responders join one queue group, so several
 * bgp-processor replicas share the load and a request is answered once. A malformed request is counted and
 * answered with an empty reply (the client counts it as an error), never thrown.
 */

import { type Component, Counter, errorMessage, type Logger, type Nats, type Registry } from '@kansoku/kit';
import { decodeOriginAsRequest, encodeOriginAsReply, type OriginAsAnswer } from '@kansoku/kit/enrichment';
import type { Rib } from '../rib/rib.ts';

export const ORIGIN_AS_QUEUE = 'kansoku-bgp-origin-as';

export function answerOriginAs(rib: Pick<Rib, 'lookup'>, addresses: readonly Uint8Array[]): OriginAsAnswer[] {
  return addresses.map((address) => {
    const result = rib.lookup(address);
    return { asn: result?.originAs ?? 0, uniformLength: result?.uniformLength ?? address.length * 8 };
  });
}

export function createOriginAsResponder(
  config: { subject: string },
  deps: { rib: Pick<Rib, 'lookup'>; nats: Nats; log: Logger; metrics: Registry },
): Component {
  const requests = new Counter({
    name: 'kansoku_bgp_origin_as_requests_total',
    help: 'IP → origin AS requests answered on NATS, by outcome (ok, malformed)',
    labelNames: ['outcome'],
    registers: [deps.metrics],
  });
  const addresses = new Counter({
    name: 'kansoku_bgp_origin_as_addresses_total',
    help: 'Addresses looked up for NATS requests',
    registers: [deps.metrics],
  });
  let subscription: ReturnType<ReturnType<Nats['connection']>['subscribe']> | undefined;
  let loop: Promise<void> | undefined;
  return {
    name: 'bgp-origin-as-responder',
    async start() {
      const sub = deps.nats.connection().subscribe(config.subject, { queue: ORIGIN_AS_QUEUE });
      subscription = sub;
      loop = (async () => {
        for await (const message of sub) {
          try {
            const asked = decodeOriginAsRequest(message.data);
            addresses.inc(asked.length);
            message.respond(encodeOriginAsReply(answerOriginAs(deps.rib, asked)));
            requests.inc({ outcome: 'ok' });
          } catch (error) {
            requests.inc({ outcome: 'malformed' });
            deps.log.debug({ err: errorMessage(error) }, 'malformed origin AS request');
            message.respond(new Uint8Array(1));
          }
        }
      })();
      deps.log.info({ subject: config.subject }, 'answering IP → origin AS requests');
    },
    async stop() {
      if (subscription !== undefined && !subscription.isClosed()) await subscription.drain();
      await loop;
      subscription = undefined;
    },
  };
}
