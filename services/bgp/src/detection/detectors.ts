/**
 * Streaming BGP detections, fed by the RIB as it changes (rib.ts `RibObserver`) and by a periodic tick:
 *
 * - `origin-change` (possible hijack): a prefix is announced with an origin AS that none of its other routes
 *   carries. Prefixes listed in `knownMoas` (optionally with their legitimate origins) are left alone. Resolved
 *   when that origin no longer announces the prefix, or after `maxFiringMs` (a legitimate move stops paging).
 * - `more-specific`: a prefix inside a watched prefix (`watchedPrefixes`) appears; critical when the watched
 *   entry lists its origins and the more-specific's origin is not one of them. Resolved when it is withdrawn.
 * - `rib-drop` (session loss): a peer RIB's routes fall by more than `share` below their peak within
 *   `windowMs`. Resolved when they come back above that bound.
 */

import { formatIpAddress, parseIpAddress } from '@kansoku/contracts/ip-address';
import { ConfigError, type Detection, type DetectionEmitter } from '@kansoku/kit';
import { type Static, Type } from '@sinclair/typebox';
import type { AnnounceEvent, PeerSummary, PrefixGoneEvent, Rib } from '../rib/rib.ts';

export const bgpDetectionSchema = Type.Object({
  originChange: Type.Object(
    {
      enabled: Type.Boolean({ default: true }),
      knownMoas: Type.Array(Type.String(), {
        default: [],
        description:
          'Prefixes announced from several ASes on purpose: `192.0.2.0/24` (any origin) or `192.0.2.0/24=64500,64501`',
      }),
      maxFiringMs: Type.Integer({
        default: 6 * 3_600_000,
        minimum: 60_000,
        description:
          'An origin change still announced after this long is resolved (taken as a legitimate move)',
      }),
    },
    { default: {} },
  ),
  watchedPrefixes: Type.Array(Type.String(), {
    default: [],
    description: 'Own prefixes whose more-specifics are reported: `203.0.113.0/24` or `203.0.113.0/24=64500`',
  }),
  ribDrop: Type.Object(
    {
      enabled: Type.Boolean({ default: true }),
      share: Type.Number({
        default: 0.5,
        exclusiveMinimum: 0,
        maximum: 1,
        description: 'Fall that fires (0.5: half)',
      }),
      windowMs: Type.Integer({ default: 300_000, minimum: 1000, description: 'Peak taken over this window' }),
      minRoutes: Type.Integer({
        default: 1000,
        minimum: 1,
        description: 'Peer RIBs smaller than this are not watched',
      }),
    },
    { default: {} },
  ),
});

export type BgpDetectionConfig = Static<typeof bgpDetectionSchema>;

interface PrefixRule {
  family: 4 | 6;
  address: Uint8Array;
  length: number;
  text: string;
  /** Legitimate origins; empty: any. */
  origins: Set<number>;
}

const RULE_PATTERN = /^\s*([0-9A-Fa-f:.]+)\/(\d{1,3})\s*(?:=\s*([0-9,\s]+))?$/;

export function parsePrefixRule(text: string, key: string): PrefixRule {
  const match = RULE_PATTERN.exec(text);
  if (match === null)
    throw new ConfigError(key, `'${text}' is not a prefix (192.0.2.0/24 or 192.0.2.0/24=64500,64501)`);
  let address: Uint8Array;
  try {
    address = parseIpAddress(match[1] ?? '');
  } catch {
    throw new ConfigError(key, `'${text}': not an IPv4 or IPv6 address`);
  }
  const length = Number(match[2]);
  if (length > address.length * 8) throw new ConfigError(key, `'${text}': length ${length} is too long`);
  const masked = Uint8Array.from(address);
  for (let bit = length; bit < masked.length * 8; bit++)
    masked[bit >> 3] = masked[bit >> 3]! & ~(0x80 >> (bit & 7));
  const origins = new Set(
    (match[3] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map(Number),
  );
  for (const asn of origins) {
    if (!Number.isInteger(asn) || asn < 1 || asn > 0xffffffff)
      throw new ConfigError(key, `'${text}': bad AS ${asn}`);
  }
  return {
    family: address.length === 4 ? 4 : 6,
    address: masked,
    length,
    text: `${formatIpAddress(masked)}/${length}`,
    origins,
  };
}

function covers(rule: PrefixRule, address: Uint8Array, length: number): boolean {
  if (length < rule.length || address.length !== rule.address.length) return false;
  const full = rule.length >> 3;
  for (let i = 0; i < full; i++) if (address[i] !== rule.address[i]) return false;
  const rest = rule.length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((address[full]! ^ rule.address[full]!) & mask) === 0;
}

export interface BgpDetectors {
  onAnnounce(event: AnnounceEvent): void;
  onPrefixGone(event: PrefixGoneEvent): void;
  /** Moves time on: resolves what ended, samples peer RIB sizes. */
  tick(nowMs: number, peers: readonly PeerSummary[]): void;
  /** Detections firing now (for tests and the status page). */
  active(): Detection[];
}

export function createBgpDetectors(
  config: BgpDetectionConfig,
  deps: { emitter: DetectionEmitter; rib: Pick<Rib, 'originsOfPrefix'> },
  keyPrefix = 'bgpProcessor.detection',
): BgpDetectors {
  const knownMoas = config.originChange.knownMoas.map((t, i) =>
    parsePrefixRule(t, `${keyPrefix}.originChange.knownMoas[${i}]`),
  );
  const watched = config.watchedPrefixes.map((t, i) =>
    parsePrefixRule(t, `${keyPrefix}.watchedPrefixes[${i}]`),
  );
  const originAlerts = new Map<
    string,
    { detection: Detection; family: 4 | 6; address: Uint8Array; length: number; asn: number }
  >();
  const specificAlerts = new Map<string, Detection>();
  const dropAlerts = new Map<string, { detection: Detection; bound: number }>();
  const samples = new Map<string, { time: number; routes: number }[]>();

  const fire = (d: Detection) => deps.emitter.emit(d);
  const resolve = (d: Detection, nowMs: number) =>
    deps.emitter.emit({ ...d, status: 'resolved', endsAt: nowMs });

  return {
    onAnnounce(event) {
      const prefix = event.prefix();
      if (
        config.originChange.enabled &&
        event.originsBefore.size > 0 &&
        !event.originsBefore.has(event.originAs)
      ) {
        const moas = knownMoas.find(
          (r) =>
            r.family === event.family && r.length === event.length && covers(r, event.address, event.length),
        );
        const allowed = moas !== undefined && (moas.origins.size === 0 || moas.origins.has(event.originAs));
        const key = `${prefix}|${event.originAs}`;
        if (!allowed && !originAlerts.has(key)) {
          const before = [...event.originsBefore.keys()].sort((a, b) => a - b);
          const detection: Detection = {
            domain: 'bgp',
            name: 'origin-change',
            severity: 'critical',
            status: 'firing',
            labels: { prefix, origin_as: String(event.originAs) },
            annotations: {
              summary: `${prefix} announced from AS${event.originAs}, was AS${before.join(', AS')} (possible hijack)`,
              description: `Seen from peer ${event.peer.address || '(Loc-RIB)'} AS${event.peer.asn} of router ${event.peer.router}. Other routes of the prefix carry origin AS${before.join(', AS')}.`,
              previous_origins: before.join(','),
            },
            startsAt: event.receivedMs,
            value: event.originAs,
            threshold: before[0] ?? 0,
          };
          originAlerts.set(key, {
            detection,
            family: event.family,
            address: event.address,
            length: event.length,
            asn: event.originAs,
          });
          fire(detection);
        }
      }
      if (event.originsBefore.size === 0 && watched.length > 0) {
        for (const rule of watched) {
          if (
            rule.family !== event.family ||
            event.length <= rule.length ||
            !covers(rule, event.address, event.length)
          )
            continue;
          const key = `${rule.text}|${prefix}`;
          if (specificAlerts.has(key)) continue;
          const foreign = rule.origins.size > 0 && !rule.origins.has(event.originAs);
          const detection: Detection = {
            domain: 'bgp',
            name: 'more-specific',
            severity: foreign ? 'critical' : 'warning',
            status: 'firing',
            labels: { watched: rule.text, prefix },
            annotations: {
              summary: `${prefix}, a more-specific of watched ${rule.text}, announced from AS${event.originAs}`,
              description: foreign
                ? `AS${event.originAs} is not among the watched prefix's origins (AS${[...rule.origins].join(', AS')}): traffic to ${prefix} may be diverted.`
                : `Seen from peer ${event.peer.address || '(Loc-RIB)'} of router ${event.peer.router}.`,
              origin_as: String(event.originAs),
            },
            startsAt: event.receivedMs,
            value: event.length,
            threshold: rule.length,
          };
          specificAlerts.set(key, detection);
          fire(detection);
        }
      }
    },

    onPrefixGone(event) {
      if (specificAlerts.size === 0) return;
      const prefix = `${formatIpAddress(event.address)}/${event.length}`;
      for (const [key, detection] of specificAlerts) {
        if (detection.labels.prefix !== prefix) continue;
        specificAlerts.delete(key);
        resolve(detection, Date.now());
      }
    },

    tick(nowMs, peers) {
      for (const [key, alert] of originAlerts) {
        const still = deps.rib.originsOfPrefix(alert.family, alert.address, alert.length).has(alert.asn);
        if (!still || nowMs - alert.detection.startsAt >= config.originChange.maxFiringMs) {
          originAlerts.delete(key);
          resolve(alert.detection, nowMs);
        }
      }
      if (!config.ribDrop.enabled) return;
      for (const peer of peers) {
        const key = peer.info.key;
        const routes = peer.routes.ipv4 + peer.routes.ipv6;
        const history = samples.get(key) ?? [];
        history.push({ time: nowMs, routes });
        while (history.length > 0 && history[0]!.time < nowMs - config.ribDrop.windowMs) history.shift();
        samples.set(key, history);
        const active = dropAlerts.get(key);
        if (active !== undefined) {
          if (routes >= active.bound) {
            dropAlerts.delete(key);
            resolve(active.detection, nowMs);
          }
          continue;
        }
        const peak = history.reduce((m, s) => Math.max(m, s.routes), 0);
        const bound = peak * (1 - config.ribDrop.share);
        if (peak >= config.ribDrop.minRoutes && routes < bound) {
          const detection: Detection = {
            domain: 'bgp',
            name: 'rib-drop',
            severity: 'critical',
            status: 'firing',
            labels: {
              router: peer.info.router,
              peer: peer.info.address,
              distinguisher: peer.info.distinguisher,
              rib_type: String(peer.info.ribType),
            },
            annotations: {
              summary: `Peer ${peer.info.address || '(Loc-RIB)'} AS${peer.info.asn} of ${peer.info.router}: ${routes} routes, down from ${peak}`,
              description: `The RIB fell by ${Math.round((1 - routes / peak) * 100)}% within ${Math.round(config.ribDrop.windowMs / 1000)} s (bound ${Math.round(config.ribDrop.share * 100)}%): session loss or a mass withdrawal.`,
            },
            startsAt: nowMs,
            value: routes,
            threshold: Math.floor(bound),
          };
          dropAlerts.set(key, { detection, bound });
          fire(detection);
        }
      }
    },

    active() {
      return [
        ...[...originAlerts.values()].map((a) => a.detection),
        ...specificAlerts.values(),
        ...[...dropAlerts.values()].map((a) => a.detection),
      ];
    },
  };
}
