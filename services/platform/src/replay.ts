/**
 * `kansoku replay <name> <file> [--option value …]`: feeds a recorded file (an MRT dump, a DNS pcap, a dnstap
 * capture) into the running platform through the replayer a domain offers. The replayer reads and publishes;
 * this command gives it a runtime with the process's Kafka settings, draws a progress bar from what it
 * reports, stops it cleanly on Ctrl-C and prints its summary.
 */
import { existsSync, statSync } from 'node:fs';
import {
  createLifecycle,
  createLogger,
  createMetricsRegistry,
  logSection,
  type ReplayerDefinition,
  type ReplayProgress,
} from '@kansoku/kit';
import { optionsFromFlags, parseFlags } from './command-options.ts';
import { platformModules } from './modules.ts';
import { loadPlatformConfig } from './platform.ts';
import { createRuntime } from './runtime.ts';
import { kafkaTopicSpecs } from './topics.ts';

export function replayers(): ReplayerDefinition[] {
  return platformModules().flatMap((m) => m.replayers ?? []);
}

function usage(known: ReplayerDefinition[]): string {
  const lines = known.map((r) => `  ${r.name.padEnd(8)} ${r.description}`);
  return `usage: pnpm kansoku replay <name> <file> [--option value …] [--config file.yaml]\n\n${
    lines.length > 0 ? lines.join('\n') : '  (no domain offers a replayer)'
  }\n`;
}

const MB = 1024 * 1024;

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/**
 * A progress bar on a terminal (redrawn in place, at most 10 times a second), or a line every 5 s when the
 * output is a file or a pipe (CI logs stay readable).
 */
export function createProgressBar(
  stream: NodeJS.WriteStream | { isTTY?: boolean; write(text: string): unknown },
  now: () => number = Date.now,
): ReplayProgress & { finish(): void; line(): string } {
  const started = now();
  let total = 0;
  let bytes = 0;
  let items = 0;
  let lastDraw = 0;
  const interactive = stream.isTTY === true;
  const line = () => {
    const elapsed = Math.max((now() - started) / 1000, 1e-3);
    const rate = items / elapsed;
    const parts: string[] = [];
    if (total > 0) {
      const share = Math.min(bytes / total, 1);
      const width = 24;
      const filled = Math.round(share * width);
      const eta = share > 0 ? (elapsed / share) * (1 - share) : Number.NaN;
      parts.push(
        `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(1).padStart(5)}%`,
        `${(bytes / MB).toFixed(1)}/${(total / MB).toFixed(1)} MB`,
        `eta ${formatDuration(eta)}`,
      );
    } else {
      parts.push(`${(bytes / MB).toFixed(1)} MB`);
    }
    parts.push(`${items.toLocaleString('en-US')} sent`, `${Math.round(rate).toLocaleString('en-US')}/s`);
    return parts.join('  ');
  };
  const draw = (force: boolean) => {
    const t = now();
    if (!force && t - lastDraw < (interactive ? 100 : 5000)) return;
    lastDraw = t;
    stream.write(interactive ? `\r\x1b[2K${line()}` : `${line()}\n`);
  };
  return {
    setTotal(value) {
      total = value;
    },
    update(bytesDone, itemsDone) {
      bytes = bytesDone;
      items = itemsDone;
      draw(false);
    },
    finish() {
      draw(true);
      if (interactive) stream.write('\n');
    },
    line,
  };
}

export async function replayCommand(args: string[]): Promise<number> {
  const { positionals, flags } = parseFlags(args);
  const known = replayers();
  const [name, file, ...extra] = positionals;
  if (name === undefined || name === 'help' || flags.help !== undefined) {
    process.stdout.write(usage(known));
    return name === undefined ? 2 : 0;
  }
  const replayer = known.find((r) => r.name === name);
  if (!replayer) {
    process.stderr.write(`kansoku replay: no replayer '${name}'\n\n${usage(known)}`);
    return 2;
  }
  if (file === undefined || extra.length > 0) {
    process.stderr.write(`kansoku replay ${name}: name exactly one file\n\n${usage(known)}`);
    return 2;
  }
  if (!existsSync(file) || !statSync(file).isFile()) {
    process.stderr.write(`kansoku replay ${name}: ${file}: no such file\n`);
    return 2;
  }
  const configFile = flags.config ?? process.env.KANSOKU_CONFIG;
  delete flags.config;
  const options = optionsFromFlags(replayer.options, flags, ['--config']);
  const config = loadPlatformConfig(configFile);
  const log = createLogger(config.get(logSection), `kansoku-replay-${name}`);
  const runtime = createRuntime(config, platformModules(), { log, metrics: createMetricsRegistry() });

  // Topics are made as `up` makes them, so a replay into a fresh stack is not lost to a missing topic.
  await runtime.kafkaAdmin().ensureTopics(kafkaTopicSpecs());
  const infrastructure = createLifecycle(runtime.infrastructure(), { log });
  await infrastructure.start();

  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping: flushing what was sent (Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = createProgressBar(process.stderr);
  progress.setTotal(statSync(file).size);
  try {
    const summary = await replayer
      .run(file, options, { runtime, progress, signal: abort.signal })
      .finally(() => progress.finish());
    const width = Math.max(...Object.keys(summary).map((k) => k.length), 0);
    process.stdout.write(
      `${abort.signal.aborted ? 'stopped early' : 'replayed'} ${file}\n${Object.entries(summary)
        .map(([k, v]) => `  ${k.padEnd(width)}  ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`)
        .join('\n')}\n`,
    );
    return abort.signal.aborted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await infrastructure.stop();
  }
}
