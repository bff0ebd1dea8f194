/**
 * RouteUpdates and PeerEvents → Kafka, in the order they were decoded, with bounded memory and no drops.
 *
 * Dropping a route would leave the downstream RIB wrong until the prefix changes again, so unlike the flows
 * collector this publisher never drops: when `maxQueued` messages are waiting for Kafka it tells its owner
 * to stop reading (`onPressure(true)`: the station pauses every router socket, and TCP flow control makes the
 * routers buffer), and to resume once half of them are acknowledged. The bound is soft by at most what one
 * socket read decodes to.
 *
 * Messages carry an owner (the router connection they came from). When Kafka fails a send, the owners of
 * the lost messages are reported (`onLost`): the station closes those connections, and each router's
 * reconnect re-sends its routes after Peer Up, which puts the RIB right again.
 *
 * Order: kit's producer sends one request at a time from one FIFO queue, so messages keep the order of the
 * `publish` calls, per topic and per key.
 */

import { encode, keyOf, topics } from '@kansoku/contracts';
import type { Peer, PeerEvent, RouteUpdate } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { errorMessage, type KafkaProducer, type OutgoingMessage } from '@kansoku/kit';
import { createRateLimitedLog, type WarnLogger } from '@kansoku/kit/net/rate-limited-log';
import { encodeRouteUpdate } from './route-update-codec.ts';

export interface BgpPublisherConfig {
  updatesTopic: string;
  peersTopic: string;
  maxQueued: number;
  maxSend: number;
}

export interface BgpPublisherMetrics {
  published?: { inc(labels: { topic: string }, value: number): void };
  publishErrors?: { inc(labels: { topic: string }, value: number): void };
  publishQueue?: { set(value: number): void };
}

export interface BgpPublisherDeps<Owner> {
  producer: Pick<KafkaProducer, 'send'>;
  log: WarnLogger;
  metrics?: BgpPublisherMetrics;
  /** Called with true when the queue reaches its bound, false once it has drained to half. */
  onPressure?(full: boolean): void;
  /** Owners some of whose messages Kafka did not acknowledge. */
  onLost?(owners: ReadonlySet<Owner>): void;
}

export interface BgpPublisherCounts {
  updates: number;
  peerEvents: number;
  published: number;
  failed: number;
}

export interface BgpPublisher<Owner> {
  publishUpdates(updates: readonly RouteUpdate[], owner: Owner): void;
  /**
   * RouteUpdates already encoded (`encodedRouteUpdatesOf`) of one peer: `key` is the peer's record key
   * (`routeKeyOf`). Same queueing, order and back-pressure as `publishUpdates`.
   */
  publishEncodedUpdates(key: Buffer, values: readonly Uint8Array[], owner: Owner): void;
  publishPeerEvent(event: PeerEvent, owner: Owner): void;
  /** Messages accepted and not yet acknowledged or failed. */
  queued(): number;
  /** Whether the queue is at its bound (the owner should stop producing). */
  full(): boolean;
  counts(): BgpPublisherCounts;
  /** Sends what is buffered now and waits until every send so far has settled. */
  flush(): Promise<void>;
}

interface Run<Owner> {
  topic: string;
  messages: OutgoingMessage[];
  owners: Set<Owner>;
}

/**
 * The record key of a route (`keyOf`), computed once per (Peer message, router address) pair: the station and
 * the replay share one Peer object among all the routes of a peer, and formatting two addresses per route
 * showed in profiles.
 */
const routeKeys = new WeakMap<object, { router: Uint8Array; key: string }>();

function routeKey(update: RouteUpdate): string {
  const peer = update.peer;
  if (peer === undefined) return keyOf(topics.bgpUpdates, update);
  const cached = routeKeys.get(peer);
  if (cached !== undefined && cached.router === update.routerAddress) return cached.key;
  const key = keyOf(topics.bgpUpdates, update);
  routeKeys.set(peer, { router: update.routerAddress, key });
  return key;
}

/**
 * The record key of the routes of one peer of one router, as bytes (what kit's producer would make of the
 * string key for every message otherwise); the same text as `keyOf(topics.bgpUpdates, update)`.
 */
export function routeKeyOf(routerAddress: Uint8Array, peer: Peer): Buffer {
  return Buffer.from(
    keyOf(topics.bgpUpdates, {
      $typeName: 'kansoku.bgp.v1.RouteUpdate',
      routerAddress,
      peer,
    } as RouteUpdate),
  );
}

export function createBgpPublisher<Owner>(
  config: BgpPublisherConfig,
  deps: BgpPublisherDeps<Owner>,
): BgpPublisher<Owner> {
  const warnings = createRateLimitedLog(deps.log);
  /** Runs of consecutive messages of one topic, in publish order. */
  let runs: Run<Owner>[] = [];
  let outstanding = 0;
  let pressure = false;
  let scheduled: NodeJS.Immediate | undefined;
  const inFlight = new Set<Promise<void>>();
  const counts: BgpPublisherCounts = { updates: 0, peerEvents: 0, published: 0, failed: 0 };

  const setOutstanding = (value: number) => {
    outstanding = value;
    deps.metrics?.publishQueue?.set(outstanding);
    if (!pressure && outstanding >= config.maxQueued) {
      pressure = true;
      deps.onPressure?.(true);
    } else if (pressure && outstanding <= config.maxQueued / 2) {
      pressure = false;
      deps.onPressure?.(false);
    }
  };

  const runFor = (topic: string, owner: Owner): Run<Owner> => {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.topic === topic && last.messages.length < config.maxSend) {
      last.owners.add(owner);
      return last;
    }
    const run: Run<Owner> = { topic, messages: [], owners: new Set([owner]) };
    runs.push(run);
    return run;
  };

  const sendRun = (run: Run<Owner>) => {
    const n = run.messages.length;
    const labels = { topic: run.topic };
    const sent = deps.producer.send(run.topic, run.messages).then(
      () => {
        counts.published += n;
        deps.metrics?.published?.inc(labels, n);
        setOutstanding(outstanding - n);
      },
      (error: unknown) => {
        counts.failed += n;
        deps.metrics?.publishErrors?.inc(labels, n);
        setOutstanding(outstanding - n);
        warnings.warn(
          `publish-failed:${run.topic}`,
          { topic: run.topic, messages: n, routers: run.owners.size, err: errorMessage(error) },
          'BGP messages not published: Kafka did not acknowledge them; their routers are disconnected to resynchronise',
        );
        deps.onLost?.(run.owners);
      },
    );
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  };

  const sendBuffered = () => {
    scheduled = undefined;
    const pending = runs;
    runs = [];
    for (const run of pending) sendRun(run);
  };

  const schedule = () => {
    if (scheduled === undefined) scheduled = setImmediate(sendBuffered);
  };

  return {
    publishUpdates(updates, owner) {
      if (updates.length === 0) return;
      for (const update of updates) {
        const run = runFor(config.updatesTopic, owner);
        run.messages.push({ key: routeKey(update), value: encodeRouteUpdate(update) });
      }
      counts.updates += updates.length;
      setOutstanding(outstanding + updates.length);
      schedule();
    },
    publishEncodedUpdates(key, values, owner) {
      if (values.length === 0) return;
      let run = runFor(config.updatesTopic, owner);
      for (const value of values) {
        if (run.messages.length >= config.maxSend) run = runFor(config.updatesTopic, owner);
        run.messages.push({ key, value });
      }
      counts.updates += values.length;
      setOutstanding(outstanding + values.length);
      schedule();
    },
    publishPeerEvent(event, owner) {
      runFor(config.peersTopic, owner).messages.push({
        key: keyOf(topics.bgpPeers, event),
        value: encode(topics.bgpPeers, event),
      });
      counts.peerEvents += 1;
      setOutstanding(outstanding + 1);
      schedule();
    },
    queued: () => outstanding,
    full: () => pressure,
    counts: () => ({ ...counts }),
    async flush() {
      if (scheduled !== undefined) clearImmediate(scheduled);
      sendBuffered();
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      warnings.flush();
    },
  };
}
