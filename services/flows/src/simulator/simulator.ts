/**
 * `kansoku simulate flows`: real NetFlow v9, IPFIX and sFlow export packets shaped like the report, sent over
 * UDP to a collector. Each simulated exporter sends from its own loopback address (127.0.0.10, .11, …) so the
 * collector sees distinct exporters. The simulated clock can run faster than the wall clock (`speed`) so a demo
 * shows a whole day's curves in minutes; the record rate stays constant, and flow sizes follow the time of day.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Component, Logger } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { createFlowGenerator } from './flow-generator.ts';
import {
  createNetflowExporterState,
  encodeExportPacket,
  type NetflowExporterState,
} from './netflow-encoder.ts';
import { createSflowAgentState, encodeSflowFlows, type SflowAgentState } from './sflow-encoder.ts';

export const simulatorSchema = Type.Object({
  target: Type.String({ default: '127.0.0.1', description: 'Collector address' }),
  netflowPort: Type.Integer({ default: 2055, minimum: 1, maximum: 65535 }),
  ipfixPort: Type.Integer({ default: 4739, minimum: 1, maximum: 65535 }),
  sflowPort: Type.Integer({ default: 6343, minimum: 1, maximum: 65535 }),
  rate: Type.Number({
    default: 1000,
    minimum: 1,
    maximum: 2_000_000,
    description: 'Flow records per second',
  }),
  speed: Type.Number({
    default: 1,
    minimum: 1,
    maximum: 100_000,
    description: 'Simulated seconds per second',
  }),
  startMs: Type.Integer({ default: 0, minimum: 0, description: 'Simulated start time; 0 means now' }),
  exporters: Type.Integer({ default: 3, minimum: 1, maximum: 200, description: 'Exporters per protocol' }),
  seed: Type.Integer({ default: 1 }),
  /** Stop after this many records (0: run until stopped). */
  maxRecords: Type.Integer({ default: 0, minimum: 0 }),
});

export interface SimulatorConfig {
  target: string;
  netflowPort: number;
  ipfixPort: number;
  sflowPort: number;
  rate: number;
  speed: number;
  startMs: number;
  exporters: number;
  seed: number;
  maxRecords: number;
}

type Exporter =
  | { kind: 'netflow-v9' | 'ipfix'; socket: Socket; port: number; state: NetflowExporterState }
  | { kind: 'sflow'; socket: Socket; port: number; state: SflowAgentState };

const RECORDS_PER_PACKET = { 'netflow-v9': 24, ipfix: 24, sflow: 8 } as const;
const TICK_MS = 20;

export interface FlowsSimulator extends Component {
  /** Records and packets sent so far, by export protocol. */
  sent(): Record<'netflow-v9' | 'ipfix' | 'sflow', { records: number; packets: number }>;
  /** Resolves when maxRecords were sent (never, when 0). */
  done(): Promise<void>;
}

export function createFlowsSimulator(config: SimulatorConfig, deps: { log: Logger }): FlowsSimulator {
  const exporters: Exporter[] = [];
  const counts = {
    'netflow-v9': { records: 0, packets: 0 },
    ipfix: { records: 0, packets: 0 },
    sflow: { records: 0, packets: 0 },
  };
  const generator = createFlowGenerator(config.seed);
  let timer: NodeJS.Timeout | undefined;
  let total = 0;
  let resolveDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });

  async function bindExporter(index: number): Promise<Socket> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: `127.0.0.${10 + index}`, port: 0 }, () => resolve());
    });
    socket.on('error', (error) => deps.log.warn({ err: error.message }, 'simulator send failed'));
    return socket;
  }

  function send(exporter: Exporter, simulatedNow: number, n: number) {
    const flows = Array.from({ length: n }, () => generator.next(simulatedNow));
    const packet =
      exporter.kind === 'sflow'
        ? encodeSflowFlows(exporter.state, flows, simulatedNow)
        : encodeExportPacket(exporter.state, flows, simulatedNow);
    exporter.socket.send(packet, exporter.port, config.target);
    counts[exporter.kind].records += n;
    counts[exporter.kind].packets += 1;
  }

  return {
    name: 'flows-simulator',
    async start() {
      const wallStart = Date.now();
      const simStart = config.startMs || wallStart;
      let index = 0;
      for (let i = 0; i < config.exporters; i++) {
        exporters.push({
          kind: 'netflow-v9',
          socket: await bindExporter(index++),
          port: config.netflowPort,
          state: createNetflowExporterState('netflow-v9', i, simStart - 3_600_000),
        });
        exporters.push({
          kind: 'ipfix',
          socket: await bindExporter(index++),
          port: config.ipfixPort,
          state: createNetflowExporterState('ipfix', i, simStart - 3_600_000),
        });
        exporters.push({
          kind: 'sflow',
          socket: await bindExporter(index++),
          port: config.sflowPort,
          state: createSflowAgentState(Uint8Array.of(192, 0, 2, 10 + i), 1024, simStart - 3_600_000),
        });
      }
      // Each exporter owes its share of the rate; it sends whole packets of what it owes at every tick.
      const owed = exporters.map(() => 0);
      const perExporter = (config.rate * TICK_MS) / 1000 / exporters.length;
      timer = setInterval(() => {
        const simulatedNow = simStart + (Date.now() - wallStart) * config.speed;
        exporters.forEach((exporter, i) => {
          owed[i] = (owed[i] ?? 0) + perExporter;
          while ((owed[i] ?? 0) >= 1) {
            let n = Math.min(Math.floor(owed[i] ?? 0), RECORDS_PER_PACKET[exporter.kind]);
            if (config.maxRecords > 0) n = Math.min(n, config.maxRecords - total);
            if (n <= 0) {
              owed[i] = 0;
              break;
            }
            send(exporter, simulatedNow, n);
            owed[i] = (owed[i] ?? 0) - n;
            total += n;
          }
        });
        if (config.maxRecords > 0 && total >= config.maxRecords) {
          clearInterval(timer);
          resolveDone();
        }
      }, TICK_MS);
    },
    async stop() {
      clearInterval(timer);
      await Promise.all(
        exporters.map((e) => new Promise<void>((resolve) => e.socket.close(() => resolve()))),
      );
      exporters.length = 0;
      resolveDone();
    },
    sent: () => structuredClone(counts),
    done: () => finished,
  };
}
