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
 *
 * Routes travel in `RouteUpdateBatch`es (`kansoku.bgp.updates.v2`): consecutive routes of one peer (one record
 * key) go into one Kafka message of at most `maxRoutesPerMessage` routes, closed when another peer's route or a
 * peer event comes, or when the buffered messages are handed to the producer (the next turn of the event loop),
 * so batching adds no wait. Counts and the back-pressure bound are in routes, not Kafka messages.
 */

import { encode, encodeRouteUpdateBatch, keyOf, topics } from '@kansoku/contracts';
import type { Peer, PeerEvent, RouteUpdate } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { errorMessage, type KafkaProducer, type OutgoingMessage } from '@kansoku/kit';
import { createRateLimitedLog, type WarnLogger } from '@kansoku/kit/net/rate-limited-log';
import { encodeRouteUpdate } from './route-update-codec.ts';

export interface BgpPublisherConfig {
  updatesTopic: string;
  peersTopic: string;
  maxQueued: number;
  maxSend: number;
  /** Routes in one Kafka message at most (default 500). */
  maxRoutesPerMessage?: number;
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
  /** Routes and peer events in `messages` and the open batch (what `outstanding` counts). */
  items: number;
  /** The routes of the batch still open (updates topic): one peer's, `batchKey`. */
  batch: Uint8Array[];
  batchKey: Buffer | undefined;
}

/**
 * The record key of a route (`keyOf`), computed once per (Peer message, router address) pair: the station and
 * the replay share one Peer object among all the routes of a peer, and formatting two addresses per route
 * showed in profiles.
 */
const routeKeys = new WeakMap<object, { router: Uint8Array; key: Buffer }>();

function routeKey(update: RouteUpdate): Buffer {
  const peer = update.peer;
  if (peer === undefined) return routeKeyOf(update.routerAddress, peer);
  const cached = routeKeys.get(peer);
  if (cached !== undefined && cached.router === update.routerAddress) return cached.key;
  const key = routeKeyOf(update.routerAddress, peer);
  routeKeys.set(peer, { router: update.routerAddress, key });
  return key;
}

/**
 * The record key of the routes of one peer of one router, as bytes (what kit's producer would make of the
 * string key for every message otherwise): `keyOf(topics.bgpUpdates, batch)` of their batches.
 */
export function routeKeyOf(routerAddress: Uint8Array, peer: Peer | undefined): Buffer {
  const update = { $typeName: 'kansoku.bgp.v1.RouteUpdate', routerAddress, peer } as RouteUpdate;
  return Buffer.from(
    keyOf(topics.bgpUpdates, { $typeName: 'kansoku.bgp.v2.RouteUpdateBatch', updates: [update] }),
  );
}

const sameKey = (a: Buffer, b: Buffer | undefined): boolean => a === b || (b !== undefined && a.equals(b));

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

  const maxRoutes = config.maxRoutesPerMessage ?? 500;

  /** Closes a run's open batch into a Kafka message. */
  const closeBatch = (run: Run<Owner>) => {
    if (run.batch.length === 0 || run.batchKey === undefined) return;
    run.messages.push({ key: run.batchKey, value: encodeRouteUpdateBatch(run.batch) });
    run.batch = [];
    run.batchKey = undefined;
  };

  const runFor = (topic: string, owner: Owner): Run<Owner> => {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.topic === topic && last.messages.length < config.maxSend) {
      last.owners.add(owner);
      return last;
    }
    if (last !== undefined) closeBatch(last);
    const run: Run<Owner> = {
      topic,
      messages: [],
      owners: new Set([owner]),
      items: 0,
      batch: [],
      batchKey: undefined,
    };
    runs.push(run);
    return run;
  };

  /** Adds routes of one peer (`key`) to the open batch, closing it at the bound or when the peer changes. */
  const addRoutes = (key: Buffer, values: readonly Uint8Array[], owner: Owner) => {
    let run = runFor(config.updatesTopic, owner);
    for (const value of values) {
      if (run.batch.length >= maxRoutes || (run.batch.length > 0 && !sameKey(key, run.batchKey))) {
        closeBatch(run);
        if (run.messages.length >= config.maxSend) run = runFor(config.updatesTopic, owner);
      }
      if (run.batch.length === 0) run.batchKey = key;
      run.batch.push(value);
      run.items++;
    }
  };

  const sendRun = (run: Run<Owner>) => {
    closeBatch(run);
    const n = run.items;
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
      for (const update of updates) addRoutes(routeKey(update), [encodeRouteUpdate(update)], owner);
      counts.updates += updates.length;
      setOutstanding(outstanding + updates.length);
      schedule();
    },
    publishEncodedUpdates(key, values, owner) {
      if (values.length === 0) return;
      addRoutes(key, values, owner);
      counts.updates += values.length;
      setOutstanding(outstanding + values.length);
      schedule();
    },
    publishPeerEvent(event, owner) {
      const run = runFor(config.peersTopic, owner);
      run.messages.push({
        key: keyOf(topics.bgpPeers, event),
        value: encode(topics.bgpPeers, event),
      });
      run.items++;
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
