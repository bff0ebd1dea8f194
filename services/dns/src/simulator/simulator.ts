/**
 * `kansoku simulate dns`: resolver clients shaped like the report (per-source rate with the time-of-day curve,
 * query types per transport, sources asking A/AAAA), sent as dnstap CLIENT_QUERY/CLIENT_RESPONSE messages over
 * Frame Streams (bidirectional handshake) to the DNS collector's TCP port or unix socket — what a resolver with
 * dnstap would send. The simulated clock can run faster than the wall clock (`speed`): at speed 1440 a whole
 * day passes in a minute, and the query rate follows the simulated hour (sources × rate per source × speed).
 * With a bounded run and speed > 1, the simulated clock starts early enough that the run ends at the present.
 * Optional attacks (a random-subdomain flood, one client spiking, a SERVFAIL storm) show the detectors at work.
 */
import type { Component, Logger } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { encodeQueryFrames, type SimulatedQuery } from './dnstap-encoder.ts';
import { dataFrames, type FrameStreamClient, openFrameStreamClient } from './frame-stream-client.ts';
import { qpsPerSourceAt } from './profile.ts';
import { createQueryGenerator } from './query-generator.ts';

export const dnsSimulatorSchema = Type.Object({
  address: Type.String({
    default: '127.0.0.1:6000',
    description: 'Collector dnstap TCP address (host:port)',
  }),
  socket: Type.String({
    default: '',
    description: 'Collector dnstap unix socket; when set, used instead of address',
  }),
  sources: Type.Integer({
    default: 20_000,
    minimum: 1,
    maximum: 5_000_000,
    description: 'Simulated client addresses',
  }),
  ipv6Share: Type.Number({ default: 0.3, minimum: 0, maximum: 1, description: 'Share of sources on IPv6' }),
  speed: Type.Number({
    default: 1,
    minimum: 0.01,
    maximum: 100_000,
    description: 'Simulated seconds per second',
  }),
  seconds: Type.Number({
    default: 0,
    minimum: 0,
    description: 'Wall-clock seconds to run; 0: until stopped',
  }),
  maxQueries: Type.Integer({
    default: 0,
    minimum: 0,
    description: 'Stop after this many queries; 0: no limit',
  }),
  startMs: Type.Integer({ default: 0, minimum: 0, description: 'Simulated start time (ms); 0: see above' }),
  timezone: Type.String({ default: 'Asia/Tokyo', description: 'Local time of the time-of-day curve' }),
  identity: Type.String({ default: 'sim-resolver', description: 'dnstap identity (the resolver name)' }),
  nxdomainShare: Type.Number({ default: 0.03, minimum: 0, maximum: 1 }),
  servfailShare: Type.Number({ default: 0.002, minimum: 0, maximum: 1 }),
  unansweredShare: Type.Number({ default: 0.001, minimum: 0, maximum: 1 }),
  activitySigma: Type.Number({
    default: 1,
    minimum: 0,
    maximum: 3,
    description: 'Spread of activity over sources',
  }),
  zones: Type.Integer({ default: 5000, minimum: 1 }),
  attack: Type.Union(
    [
      Type.Literal('none'),
      Type.Literal('random-subdomain'),
      Type.Literal('client-spike'),
      Type.Literal('servfail'),
    ],
    { default: 'none', description: 'An attack mixed in after attackAfterSeconds (wall clock)' },
  ),
  attackQps: Type.Number({
    default: 200,
    minimum: 1,
    description: 'Simulated queries per second of the attack',
  }),
  attackAfterSeconds: Type.Number({ default: 0, minimum: 0 }),
  attackZone: Type.String({ default: 'victim.example.jp.' }),
  seed: Type.Integer({ default: 1 }),
});

export interface DnsSimulatorConfig {
  address: string;
  socket: string;
  sources: number;
  ipv6Share: number;
  speed: number;
  seconds: number;
  maxQueries: number;
  startMs: number;
  timezone: string;
  identity: string;
  nxdomainShare: number;
  servfailShare: number;
  unansweredShare: number;
  activitySigma: number;
  zones: number;
  attack: 'none' | 'random-subdomain' | 'client-spike' | 'servfail';
  attackQps: number;
  attackAfterSeconds: number;
  attackZone: string;
  seed: number;
}

export interface DnsSimulatorSent {
  queries: number;
  attackQueries: number;
  frames: number;
  bytes: number;
  simulatedTime: string;
}

export interface DnsSimulator extends Component {
  sent(): DnsSimulatorSent;
  done(): Promise<void>;
}

const TICK_MS = 50;

function offsetMs(zone: string, ms: number): number {
  const name =
    new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
      .formatToParts(ms)
      .find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return (m[1] === '-' ? -minutes : minutes) * 60_000;
}

export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new RangeError(`address must be host:port, got ${text}`);
  return { host: m[1] as string, port: Number(m[2]) };
}

export function createDnsSimulator(config: DnsSimulatorConfig, deps: { log: Logger }): DnsSimulator {
  const generator = createQueryGenerator({
    seed: config.seed,
    sources: config.sources,
    ipv6Share: config.ipv6Share,
    nxdomainShare: config.nxdomainShare,
    servfailShare: config.servfailShare,
    unansweredShare: config.unansweredShare,
    activitySigma: config.activitySigma,
    zones: config.zones,
  });
  const identity = Buffer.from(config.identity);
  const counts = { queries: 0, attackQueries: 0, frames: 0, bytes: 0 };
  let client: FrameStreamClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let simStart = 0;
  let simNow = 0;
  let wallStart = 0;
  let expected = 0;
  let attackExpected = 0;
  let resolveDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  let busy = false;

  function limitReached(): boolean {
    return config.maxQueries > 0 && counts.queries + counts.attackQueries >= config.maxQueries;
  }

  async function finish() {
    if (!running) return;
    running = false;
    clearInterval(timer);
    try {
      await client?.close();
    } catch (error) {
      deps.log.warn({ err: String(error) }, 'dns simulator: collector did not finish the stream cleanly');
    }
    resolveDone();
  }

  async function tick() {
    if (!running || busy || !client) return;
    busy = true;
    try {
      const wall = Date.now();
      const previous = simNow;
      simNow = simStart + (wall - wallStart) * config.speed;
      const dtSeconds = (simNow - previous) / 1000;
      const localHour = ((simNow + offsetMs(config.timezone, simNow)) / 3_600_000) % 24;
      expected += config.sources * qpsPerSourceAt(localHour) * dtSeconds;
      let count = Math.floor(expected);
      expected -= count;
      if (config.maxQueries > 0)
        count = Math.min(count, config.maxQueries - counts.queries - counts.attackQueries);
      const queries: SimulatedQuery[] = [];
      for (let i = 0; i < count; i++)
        queries.push(generator.next(previous + ((i + 0.5) / count) * (simNow - previous)));
      counts.queries += count;
      if (
        config.attack !== 'none' &&
        wall - wallStart >= config.attackAfterSeconds * 1000 &&
        !limitReached()
      ) {
        attackExpected += config.attackQps * dtSeconds;
        let attack = Math.floor(attackExpected);
        attackExpected -= attack;
        if (config.maxQueries > 0)
          attack = Math.min(attack, config.maxQueries - counts.queries - counts.attackQueries);
        for (let i = 0; i < attack; i++) {
          const t = previous + ((i + 0.5) / attack) * (simNow - previous);
          if (config.attack === 'random-subdomain')
            queries.push(generator.randomSubdomain(t, config.attackZone));
          else if (config.attack === 'client-spike') queries.push(generator.fromSource(t, 0));
          else queries.push({ ...generator.next(t), rcode: 2, answers: 0, responseUs: 1_500_000 });
        }
        counts.attackQueries += attack;
      }
      queries.sort((a, b) => a.timeMs - b.timeMs);
      const payloads: Buffer[] = [];
      for (const q of queries) payloads.push(...encodeQueryFrames(q, identity));
      if (payloads.length > 0) {
        const frames = dataFrames(payloads);
        counts.frames += payloads.length;
        counts.bytes += frames.length;
        await client.write(frames);
      }
      if (limitReached() || (config.seconds > 0 && wall - wallStart >= config.seconds * 1000)) await finish();
    } catch (error) {
      deps.log.error({ err: String(error) }, 'dns simulator: sending failed; stopping');
      await finish();
    } finally {
      busy = false;
    }
  }

  return {
    name: 'dns-simulator',
    async start() {
      const target = config.socket ? { path: config.socket } : parseHostPort(config.address);
      client = await openFrameStreamClient(target);
      wallStart = Date.now();
      simStart =
        config.startMs > 0
          ? config.startMs
          : config.seconds > 0 && config.speed > 1
            ? wallStart - config.seconds * 1000 * config.speed
            : wallStart;
      simNow = simStart;
      running = true;
      deps.log.info(
        {
          target: config.socket || config.address,
          sources: config.sources,
          speed: config.speed,
          start: new Date(simStart).toISOString(),
          attack: config.attack,
        },
        'dns simulator sending dnstap',
      );
      timer = setInterval(() => void tick(), TICK_MS);
    },
    async stop() {
      await finish();
    },
    done: () => finished,
    sent: () => ({ ...counts, simulatedTime: new Date(simNow).toISOString() }),
  };
}
