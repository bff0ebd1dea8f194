/**
 * Detached server processes: started in their own process group with output to a log file and a pid
 * file beside it, so they outlive the Node process that started them and a later run finds them again.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where the launcher reports what it does. A pino logger fits. */
export interface StackLog {
  info(message: string): void;
  warn(message: string): void;
}

export const consoleStackLog: StackLog = {
  info: (message) => process.stderr.write(`[stack] ${message}\n`),
  warn: (message) => process.stderr.write(`[stack] warning: ${message}\n`),
};

export const silentStackLog: StackLog = { info: () => {}, warn: () => {} };

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An executable's path: `name` itself when it holds a slash, else the first match on PATH (then `extraDirs`). */
export function findExecutable(name: string, extraDirs: string[] = []): string | undefined {
  const usable = (path: string) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return usable(name) ? name : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => isAbsolute(d)), ...extraDirs];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (usable(path)) return path;
  }
  return undefined;
}

export interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a program to its end and returns its exit code and its stdout and stderr together. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (error === null) return resolvePromise({ code: 0, output });
        const failure = error as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
        if (failure.killed) {
          return reject(new Error(`${command} did not finish within ${options.timeoutMs ?? 60_000} ms`));
        }
        if (typeof failure.code === 'number') return resolvePromise({ code: failure.code, output });
        reject(error);
      },
    );
  });
}

/** The command line of a running process, or undefined when it is gone (or a zombie). */
export function commandLineOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // kill(0) also succeeds on a zombie; /proc tells them apart where it exists.
  return existsProc() ? commandLineOf(pid) !== undefined : true;
}

function existsProc(): boolean {
  try {
    return statSync('/proc/self').isDirectory();
  } catch {
    return false;
  }
}

export async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pid in `pidFile` when that process is alive and is the one we started (its command line holds
 * `marker`): a pid file left by a crash may name a pid the system has since given to something else.
 */
export async function managedPid(pidFile: string, marker: string): Promise<number | undefined> {
  const pid = await readPid(pidFile);
  if (pid === undefined || !isAlive(pid)) return undefined;
  const commandLine = commandLineOf(pid);
  if (commandLine !== undefined && !commandLine.includes(marker)) return undefined;
  return pid;
}

export interface DetachedProcess {
  pid: number;
  child: ChildProcess;
  /** Set once the process has exited while this Node process watched it. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/** Starts a server in its own process group, output appended to `logFile`, pid written to `pidFile`. */
export async function spawnDetached(spec: {
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
}): Promise<DetachedProcess> {
  await mkdir(dirname(spec.logFile), { recursive: true });
  await rotateLog(spec.logFile);
  const fd = openSync(spec.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const started = await new Promise<number>((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('spawn', () => resolvePromise(child.pid!));
  });
  const handle: DetachedProcess = { pid: started, child, exit: undefined };
  child.once('exit', (code, signal) => {
    handle.exit = { code, signal };
  });
  child.unref();
  const temporary = `${spec.pidFile}.${process.pid}`;
  await writeFile(temporary, `${started}\n`);
  await rename(temporary, spec.pidFile);
  return handle;
}

/** Keeps one previous log: a log over 50 MiB becomes `<log>.1` before a new start appends. */
async function rotateLog(logFile: string): Promise<void> {
  try {
    if ((await stat(logFile)).size > 50 * 1024 * 1024) await rename(logFile, `${logFile}.1`);
  } catch {
    // no log yet
  }
}

export type StopOutcome = 'not-running' | 'stopped' | 'killed';

/**
 * SIGTERM to the process group, then waits up to `timeoutMs` for the process to exit; SIGKILL after that.
 * Only a process whose command line holds `marker` is signalled.
 */
export async function stopManaged(spec: {
  pidFile: string;
  marker: string;
  timeoutMs: number;
  log: StackLog;
  name: string;
}): Promise<StopOutcome> {
  const pid = await managedPid(spec.pidFile, spec.marker);
  if (pid === undefined) {
    await rm(spec.pidFile, { force: true });
    return 'not-running';
  }
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  const started = Date.now();
  signal('SIGTERM');
  while (Date.now() - started < spec.timeoutMs) {
    if (!isAlive(pid)) {
      await rm(spec.pidFile, { force: true });
      spec.log.info(`${spec.name} (pid ${pid}) stopped in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 'stopped';
    }
    await sleep(100);
  }
  spec.log.warn(
    `${spec.name} (pid ${pid}) did not stop within ${spec.timeoutMs / 1000} s of SIGTERM: SIGKILL`,
  );
  signal('SIGKILL');
  const killedAt = Date.now();
  while (isAlive(pid) && Date.now() - killedAt < 10_000) await sleep(100);
  await rm(spec.pidFile, { force: true });
  return 'killed';
}

/**
 * Runs `fn` holding an exclusive lock file, so that two launchers (two `kansoku up`, or a test run next to
 * one) never start the same server twice. A lock whose owner process is gone is taken over.
 */
export async function withLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  options: { timeoutMs: number; log: StackLog; what: string },
): Promise<T> {
  await mkdir(dirname(lockFile), { recursive: true });
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = await readPid(lockFile);
      if (owner === undefined) {
        // Written a moment ago and not yet filled, or left empty by a crash: judge by its age.
        const age = await stat(lockFile).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > 5_000) await rm(lockFile, { force: true });
      } else if (!isAlive(owner)) {
        await rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() - started > options.timeoutMs) {
        throw new Error(
          `${options.what}: lock ${lockFile} held by pid ${owner} for over ${options.timeoutMs} ms`,
        );
      }
      if (!told) {
        options.log.info(`${options.what}: waiting for pid ${owner ?? '?'} (lock ${lockFile})`);
        told = true;
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockFile, { force: true });
  }
}

/** Polls `check` until it returns a value other than undefined, `stop` returns a reason, or time runs out. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; stop?: () => string | undefined },
): Promise<{ value: T } | { stopped: string } | { timedOut: true; lastError: string | undefined }> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: string | undefined;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return { value };
    } catch (error) {
      lastError = errorText(error);
    }
    const reason = options.stop?.();
    if (reason !== undefined) return { stopped: reason };
    if (Date.now() >= deadline) return { timedOut: true, lastError };
    await sleep(options.intervalMs ?? 250);
  }
}

/** Whether something accepts TCP connections at host:port. */
export function acceptsConnections(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host, port });
    const done = (result: boolean) => {
      socket.destroy();
      resolvePromise(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The last `lines` lines of a log file, for error messages. */
export async function tailOf(path: string, lines = 30): Promise<string[]> {
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, 64 * 1024);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .slice(-lines);
    } finally {
      await handle.close();
    }
  } catch {
    return [];
  }
}

/** The most telling line of a log tail: the last error, else the last line. */
export function tellingLine(lines: string[]): string | undefined {
  const errors = lines.filter((line) => /\b(ERROR|FATAL|Exception|Error:|\[FTL\]|\[ERR\])/.test(line));
  return (errors.at(-1) ?? lines.at(-1))?.trim().slice(0, 400);
}
