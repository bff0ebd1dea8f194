/**
 * A real BGP speaker as the monitored router: gobgpd (Debian; code no one here wrote) with our station as its
 * BMP server (`kansoku run bgp-station`, a process of its own). Router R (AS 64512) peers with an
 * upstream U (a second gobgpd on 127.0.0.2, iBGP) and monitors both its Adj-RIB-In and its Loc-RIB
 * (route-monitoring-policy "all"). Routes come from a real table dump: the first prefixes of
 * bview.20020722.2337.gz are injected into R with `gobgp mrt inject global` (rewritten as TABLE_DUMP_V2 first:
 * gobgp reads no TABLE_DUMP), a few more are announced by U.
 *
 * What must hold: our routes from Kafka, folded into the processor's RIB class, equal `gobgp global rib -j`
 * on R (best paths: prefix, next hop, AS path) and `gobgp neighbor 127.0.0.2 adj-in -j` for U's Adj-RIB-In;
 * after `gobgp global rib del` (on R and on U) they are equal again (withdrawals seen); disabling the neighbour
 * gives a BMP Peer Down for U and takes U's routes out; stopping gobgpd takes the Loc-RIB peer down.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decode, topics } from '@kansoku/contracts';
import { type PeerEvent, PeerEventType, RibType } from '@kansoku/contracts/gen/kansoku/bgp/v1/bgp_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { createMetricsRegistry, silentLogger } from '@kansoku/kit';
import { createKafkaAdmin, createKafkaConsumer } from '@kansoku/kit/kafka/index';
import { capturesPresent, capturesRoot } from '@kansoku/kit/testing/captures';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAttributeKey } from '../../services/bgp/src/rib/attributes.ts';
import { peerIdentityOf, Rib } from '../../services/bgp/src/rib/rib.ts';
import { ipv4RoutesOf, writeTdv2 } from '../../services/bgp/test/replay/tdv2-writer.ts';
import {
  freePort,
  type PlatformProcess,
  startPlatformProcess,
  waitFor,
} from '../support/platform-process.ts';

const run = promisify(execFile);

async function installed(program: string): Promise<boolean> {
  try {
    await run(program, ['--version']);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}
const haveGobgp = (await installed('gobgpd')) && (await installed('gobgp'));
const haveMrt = capturesPresent('mrt');
if (!haveGobgp) console.warn('gobgpd not installed (apt-get install gobgpd): the gobgpd e2e test is skipped');

/** Prefixes of the 2002 bview injected into R. */
const INJECTED_PREFIXES = 3000;
const R_AS = 64512;
/** iBGP: gobgp keeps an iBGP route's next hop (eBGP would rewrite it to the session's loopback address, which
 * gobgpd then rejects as a next hop: "invalid nexthop address", treat-as-withdraw). */
const U_AS = R_AS;
const U_NEXT_HOP = '192.0.2.77';

interface Speaker {
  child: ChildProcess;
  api: number;
  log: () => string;
}

function startGobgpd(dir: string, name: string, config: string, api: number): Speaker {
  const file = join(dir, `${name}.toml`);
  writeFileSync(file, config);
  let log = '';
  const child = spawn(
    'gobgpd',
    ['-f', file, '--api-hosts', `127.0.0.1:${api}`, '--pprof-disable', '-p', '-l', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  return { child, api, log: () => log };
}

async function gobgp(speaker: Speaker, args: string[]): Promise<string> {
  const { stdout } = await run('gobgp', ['-u', '127.0.0.1', '-p', String(speaker.api), ...args], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}

interface GobgpPath {
  best?: boolean;
  'source-id'?: string;
  attrs: { type: number; nexthop?: string; as_paths?: { segment_type: number; asns: number[] }[] }[];
}

/** `prefix → next hop|AS path` of gobgp's JSON RIB (best paths only when `bestOnly`). */
function gobgpTable(json: string, bestOnly: boolean): Map<string, string> {
  const table = new Map<string, string>();
  const rib = JSON.parse(json === '' ? '{}' : json) as Record<string, GobgpPath[]>;
  for (const [prefix, paths] of Object.entries(rib)) {
    for (const path of paths) {
      if (bestOnly && !path.best) continue;
      const nextHop = path.attrs.find((a) => a.type === 3)?.nexthop ?? '';
      const segments = path.attrs.find((a) => a.type === 2)?.as_paths ?? [];
      const asPath = segments
        .map((s) => (s.segment_type === 1 ? `{${s.asns.join(',')}}` : s.asns.join(' ')))
        .join(' ');
      table.set(prefix, `${nextHop}|${asPath}`);
    }
  }
  return table;
}

/** Our table of one peer RIB, from the RIB the routes were folded into. */
function ourTable(rib: Rib, peerAddress: string, ribType: RibType): Map<string, string> {
  const table = new Map<string, string>();
  rib.forEachRoute((peer, _family, address, length, _pathId, attributes) => {
    if (peer.address !== peerAddress || peer.ribType !== ribType) return;
    const parsed = parseAttributeKey(attributes);
    table.set(`${formatIpAddress(address)}/${length}`, `${parsed.nextHop}|${parsed.asPath}`);
  });
  return table;
}

function sameTable(ours: Map<string, string>, theirs: Map<string, string>): string | undefined {
  if (ours.size !== theirs.size) return `ours has ${ours.size} routes, gobgp ${theirs.size}`;
  for (const [prefix, route] of theirs) {
    if (ours.get(prefix) !== route) return `${prefix}: ours ${ours.get(prefix)}, gobgp ${route}`;
  }
  return undefined;
}

describe.skipIf(!haveGobgp || !haveMrt)('gobgpd → BMP → bgp-station → Kafka → RIB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kansoku-e2e-gobgpd-'));
  const brokers = (process.env.KANSOKU_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const admin = createKafkaAdmin({ brokers, clientId: 'kansoku-e2e-gobgpd' });
  const updatesTopic = `test-${randomUUID()}`;
  const peersTopic = `test-${randomUUID()}`;
  const speakers: Speaker[] = [];
  let station: PlatformProcess | undefined;
  const consumer = createKafkaConsumer(
    { brokers, clientId: 'kansoku-e2e-gobgpd-reader' },
    {
      groupId: `test-${randomUUID()}`,
      topics: [updatesTopic, peersTopic],
      fromBeginning: true,
      maxBytes: 10 * 1024 * 1024,
    },
    { log: silentLogger(), metrics: createMetricsRegistry({ processMetrics: false }) },
  );

  afterAll(async () => {
    for (const speaker of speakers) if (speaker.child.exitCode === null) speaker.child.kill('SIGTERM');
    if (station && station.child.exitCode === null) {
      station.child.kill('SIGTERM');
      await station.exited;
    }
    await consumer.stop().catch(() => undefined);
    await admin.deleteTopics([updatesTopic, peersTopic]).catch(() => undefined);
    await admin.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a RIB equal to gobgpd’s through announcements, withdrawals and a peer down', {
    timeout: 240_000,
  }, async () => {
    await admin.ensureTopics([
      { name: updatesTopic, partitions: 3, retentionMs: 3_600_000 },
      { name: peersTopic, partitions: 1, retentionMs: 3_600_000 },
    ]);
    const [bmpPort, rPort, uPort, rApi, uApi, metricsPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    station = startPlatformProcess(['run', 'bgp-station'], {
      KANSOKU_BGP_STATION_ADDRESS: '127.0.0.1',
      KANSOKU_BGP_STATION_PORT: String(bmpPort),
      KANSOKU_BGP_STATION_UPDATES_TOPIC: updatesTopic,
      KANSOKU_BGP_STATION_PEERS_TOPIC: peersTopic,
      KANSOKU_METRICS_PORT: String(metricsPort),
    });
    const stationProcess = station;
    await waitFor(
      'the station to listen',
      () =>
        new Promise<true | undefined>((resolve) => {
          const probe = connect({ host: '127.0.0.1', port: bmpPort });
          probe.once('connect', () => {
            probe.destroy();
            resolve(true);
          });
          probe.once('error', () => resolve(undefined));
        }),
      { timeoutMs: 60_000, context: () => stationProcess.output() },
    );

    // Everything the station publishes, folded as the processor folds it: by receive time, DOWNs included.
    const rib = new Rib();
    const events: PeerEvent[] = [];
    let updatesSeen = 0;
    await consumer.start({
      async onBatch(batch) {
        for (const message of batch.messages) {
          if (batch.topic === updatesTopic) {
            for (const update of decode(topics.bgpUpdates, message.value).updates) {
              rib.applyUpdate(update);
              updatesSeen++;
            }
          } else {
            const event = decode(topics.bgpPeers, message.value);
            events.push(event);
            if (event.type === PeerEventType.DOWN) {
              rib.peerDown(
                peerIdentityOf(event.routerAddress, event.peer),
                Number(event.timeReceivedNs / 1_000_000n),
              );
            }
          }
        }
      },
    });

    const mrt = join(dir, 'bview.tdv2.mrt');
    const routes = await ipv4RoutesOf(
      join(capturesRoot(), 'mrt', 'bview.20020722.2337.gz'),
      INJECTED_PREFIXES,
    );
    writeFileSync(mrt, writeTdv2(routes, 1027381055));

    const r = startGobgpd(
      dir,
      'r',
      `[global.config]
  as = ${R_AS}
  router-id = "192.0.2.1"
  port = ${rPort}
  local-address-list = ["127.0.0.1"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.2"
    peer-as = ${U_AS}
  [neighbors.transport.config]
    local-address = "127.0.0.1"
    remote-port = ${uPort}
  [neighbors.timers.config]
    connect-retry = 1
[[bmp-servers]]
  [bmp-servers.config]
    address = "127.0.0.1"
    port = ${bmpPort}
    route-monitoring-policy = "all"
`,
      rApi,
    );
    const u = startGobgpd(
      dir,
      'u',
      `[global.config]
  as = ${U_AS}
  router-id = "192.0.2.10"
  port = ${uPort}
  local-address-list = ["127.0.0.2"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1"
    peer-as = ${R_AS}
  [neighbors.transport.config]
    local-address = "127.0.0.2"
    remote-port = ${rPort}
  [neighbors.timers.config]
    connect-retry = 1
`,
      uApi,
    );
    speakers.push(r, u);
    const context = () => `--- station\n${stationProcess.output()}\n--- R\n${r.log()}\n--- U\n${u.log()}`;
    await waitFor(
      'the BGP session between R and U',
      async () =>
        /BGP state\s*=\s*established/i.test(await gobgp(r, ['neighbor', '127.0.0.2'])) ? true : undefined,
      { timeoutMs: 60_000, context },
    );

    // U announces a few routes to R; R gets the table dump.
    for (const [prefix, path] of [
      ['203.0.113.0/24', '65011'],
      ['198.51.100.0/24', '65011,65012'],
      ['192.0.2.128/25', '65013'],
    ] as const) {
      await gobgp(u, ['global', 'rib', 'add', prefix, 'nexthop', U_NEXT_HOP, 'aspath', path]);
    }
    await gobgp(r, ['mrt', 'inject', 'global', mrt]);

    /** Waits until our tables equal gobgpd's (U's Adj-RIB-In only while the session is up: gobgp shows none after). */
    const settle = async (what: string, withAdjIn = true) => {
      await waitFor(
        what,
        async () => {
          const loc = sameTable(
            ourTable(rib, '', RibType.LOC_RIB),
            gobgpTable(await gobgp(r, ['global', 'rib', '-j']), true),
          );
          const adjIn = withAdjIn
            ? sameTable(
                ourTable(rib, '127.0.0.2', RibType.ADJ_RIB_IN_PRE_POLICY),
                gobgpTable(await gobgp(r, ['neighbor', '127.0.0.2', 'adj-in', '-j']), false),
              )
            : undefined;
          if (loc !== undefined) throw new Error(`Loc-RIB: ${loc}`);
          if (adjIn !== undefined) throw new Error(`Adj-RIB-In of U: ${adjIn}`);
          return true;
        },
        { timeoutMs: 90_000, intervalMs: 1000, context },
      );
    };

    await settle('our Loc-RIB and Adj-RIB-In to equal gobgpd’s');
    const loaded = ourTable(rib, '', RibType.LOC_RIB);
    // gobgp's inject does not take every entry (2,655 of 3,000 prefixes in a run): what counts is that ours
    // equals what gobgpd holds (settle), and that this is a real table.
    expect(loaded.size).toBeGreaterThan(INJECTED_PREFIXES / 2);
    expect(loaded.get('203.0.113.0/24')).toBe(`${U_NEXT_HOP}|65011`);
    expect(ourTable(rib, '127.0.0.2', RibType.ADJ_RIB_IN_PRE_POLICY).size).toBe(3);
    const up = events.find(
      (e) => e.type === PeerEventType.UP && formatIpAddress(e.peer!.address) === '127.0.0.2',
    );
    expect(up?.detail.case).toBe('up');
    if (up?.detail.case === 'up') expect(up.detail.value.localAsn).toBe(R_AS);

    // Withdrawals: some dump prefixes deleted on R, one of U's routes withdrawn by U.
    const updatesBefore = updatesSeen;
    const deleted = [...loaded.keys()]
      .filter((prefix) => !prefix.startsWith('203.') && !prefix.startsWith('198.51.'))
      .slice(0, 20);
    for (const prefix of deleted) await gobgp(r, ['global', 'rib', 'del', prefix]);
    await gobgp(u, ['global', 'rib', 'del', '198.51.100.0/24']);
    await settle('the withdrawals to reach our RIB');
    expect(updatesSeen).toBeGreaterThan(updatesBefore);
    expect(ourTable(rib, '127.0.0.2', RibType.ADJ_RIB_IN_PRE_POLICY).has('198.51.100.0/24')).toBe(false);

    // U's session goes down: BMP Peer Down from R, and U's routes leave both RIBs.
    await gobgp(r, ['neighbor', '127.0.0.2', 'disable']);
    await waitFor(
      'a Peer Down for U',
      async () =>
        events.some(
          (e) =>
            e.type === PeerEventType.DOWN &&
            formatIpAddress(e.peer!.address) === '127.0.0.2' &&
            e.timeObservedNs !== 0n,
        )
          ? true
          : undefined,
      { timeoutMs: 30_000, context },
    );
    await settle('U’s routes to leave our RIB', false);
    expect(ourTable(rib, '127.0.0.2', RibType.ADJ_RIB_IN_PRE_POLICY).size).toBe(0);
    expect(ourTable(rib, '', RibType.LOC_RIB).has('203.0.113.0/24')).toBe(false);

    // R stops: its BMP session closes, the station takes the Loc-RIB peer down and the RIB empties.
    r.child.kill('SIGTERM');
    await waitFor(
      'the Loc-RIB peer to go down',
      async () => (ourTable(rib, '', RibType.LOC_RIB).size === 0 ? true : undefined),
      { timeoutMs: 30_000, context },
    );
    expect(events.some((e) => e.type === PeerEventType.DOWN && e.peer!.address.length === 0)).toBe(true);
  });
});
