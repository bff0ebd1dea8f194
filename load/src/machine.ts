import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Where a number was measured: recorded beside every result so runs on different machines are not mixed up. */
export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  totalMemoryBytes: number;
  totalMemoryGiB: number;
  os: string;
  kernel: string;
  arch: string;
  node: string;
  hostname: string;
}

export interface GitInfo {
  commit: string | null;
  /** True when the work tree had uncommitted changes at the time of the run. */
  dirty: boolean | null;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryBytes: os.totalmem(),
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osPrettyName(),
    kernel: os.release(),
    arch: os.arch(),
    node: process.version,
    hostname: os.hostname(),
  };
}

function osPrettyName(): string {
  try {
    const release = readFileSync('/etc/os-release', 'utf8');
    const match = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release);
    if (match?.[1]) return match[1];
  } catch {
    // Not Linux, or no os-release: fall back to what Node knows.
  }
  return `${os.type()} ${os.release()}`;
}

export function gitInfo(cwd: string): GitInfo {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const commit = git('rev-parse', 'HEAD');
    const dirty = git('status', '--porcelain', '--untracked-files=no').length > 0;
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}
