/**
 * nfacctd (pmacct) as the peer collector: one process per measurement, listening on a UDP port of 127.0.0.1
 * with the same socket receive buffer as ours (`nfacctd_pipe_size`), every record decoded and counted by the
 * print plugin aggregated on `flows` alone (one line per refresh: PACKETS,FLOWS,BYTES appended to a CSV), the
 * cheapest aggregate that still counts each flow. The core → plugin pipe is sized as pmacct's docs advise
 * for high rates, so the peer is not held back by a default meant for small setups.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface NfacctdOptions {
  port: number;
  recvBufferSize: number;
  refreshSeconds?: number;
}

export interface Nfacctd {
  port: number;
  /** Stops the daemon (SIGINT: the plugin writes what it holds) and returns the flows it counted. */
  stop(): Promise<number>;
}

export function nfacctdVersion(): string {
  try {
    const out = execFileSync('nfacctd', ['-V'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.split('\n')[0]?.trim() ?? 'unknown';
  } catch (error) {
    const out = (error as { stdout?: string }).stdout ?? '';
    return out.split('\n')[0]?.trim() || 'not installed';
  }
}

/** The FLOWS column summed over every data line of the print plugin's CSV. */
export function sumCsvFlows(csv: string): number {
  let header: string[] | undefined;
  let total = 0;
  for (const line of csv.split('\n')) {
    const cells = line.trim().split(',');
    if (cells.length < 2) continue;
    if (cells.includes('FLOWS')) {
      header = cells;
      continue;
    }
    const column = header?.indexOf('FLOWS') ?? -1;
    const value = column >= 0 ? Number(cells[column]) : Number.NaN;
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

export async function startNfacctd(options: NfacctdOptions): Promise<Nfacctd> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kansoku-nfacctd-'));
  const csv = path.join(dir, 'flows.csv');
  const config = [
    'daemonize: false',
    'nfacctd_ip: 127.0.0.1',
    `nfacctd_port: ${options.port}`,
    `nfacctd_pipe_size: ${options.recvBufferSize}`,
    'plugin_pipe_size: 67108864',
    'plugin_buffer_size: 65536',
    'plugins: print[count]',
    'aggregate[count]: flows',
    'print_output[count]: csv',
    `print_output_file[count]: ${csv}`,
    'print_output_file_append[count]: true',
    `print_refresh_time[count]: ${options.refreshSeconds ?? 2}`,
    '',
  ].join('\n');
  const configFile = path.join(dir, 'nfacctd.conf');
  writeFileSync(configFile, config);
  const child: ChildProcess = spawn('nfacctd', ['-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 65_536) output = output.slice(-32_768);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!/waiting for NetFlow\/IPFIX data/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nfacctd did not start: ${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port: options.port,
    async stop() {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      let flows = 0;
      try {
        flows = sumCsvFlows(readFileSync(csv, 'utf8'));
      } catch {
        // No file: nothing was counted.
      }
      rmSync(dir, { recursive: true, force: true });
      return flows;
    },
  };
}
