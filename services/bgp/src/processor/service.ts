/**
 * The bgp-processor service: the RIB, its processor, the in-process IP → origin AS provider (read by the flows
 * collector through kit's `originAsSlot` when both run in one process) and the NATS responder (for collectors
 * in other processes).
 */

import { type Component, createNatsDetectionEmitter, type ServiceDefinition } from '@kansoku/kit';
import { type OriginAsLookup, originAsSlot } from '@kansoku/kit/enrichment';
import { createOriginAsResponder } from '../origin-as/responder.ts';
import { Rib } from '../rib/rib.ts';
import { bgpProcessorSection } from './config.ts';
import { createBgpProcessor } from './processor.ts';

export const bgpProcessorService: ServiceDefinition = {
  name: 'bgp-processor',
  description:
    'Keeps the live RIB from BGP route updates and peer events; writes routes by prefix length, rates, peer timeline and origins; answers IP → origin AS; detects origin changes, more-specifics and RIB drops',
  build(runtime) {
    const log = runtime.log.child({ component: 'bgp-processor' });
    const config = runtime.config.get(bgpProcessorSection);
    const rib = new Rib();
    const processor = createBgpProcessor(config, {
      createConsumer: (groupId) =>
        runtime.kafkaConsumer(
          { groupId, topics: [config.updatesTopic, config.peersTopic], fromBeginning: true },
          log,
        ),
      warehouse: runtime.warehouse(),
      rib,
      log,
      metrics: runtime.metrics,
      emitter: createNatsDetectionEmitter(runtime.nats(), { log, metrics: runtime.metrics }),
    });
    const lookup: OriginAsLookup = { originAs: (address) => rib.originAs(address) };
    const slot = originAsSlot(runtime);
    const components: Component[] = [
      processor,
      {
        name: 'bgp-origin-as-provider',
        start: async () => slot.provide(lookup),
        stop: async () => slot.withdraw(lookup),
      },
    ];
    if (config.serveOriginAsOverNats) {
      components.push(
        createOriginAsResponder(
          { subject: config.originAsSubject },
          { rib, nats: runtime.nats(), log, metrics: runtime.metrics },
        ),
      );
    }
    return components;
  },
};
