/**
 * `kansoku simulate <domain> [--option value …] [--duration s]`: runs a domain's traffic simulator against
 * the running platform. Options come from the simulator's schema (`--rate 5000` → rate); a bad one stops
 * with its name, like configuration does.
 */
import { ConfigError, createLogger, type SimulatorDefinition } from '@kansoku/kit';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { platformModules } from './modules.ts';

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function simulatorOptions(
  definition: SimulatorDefinition,
  flags: Record<string, string>,
): Record<string, unknown> {
  const properties = definition.options.properties as Record<string, TSchema>;
  const raw: Record<string, unknown> = {};
  for (const [flag, value] of Object.entries(flags)) {
    const key = camel(flag);
    if (!(key in properties)) {
      const known = Object.keys(properties).map((k) => `--${kebab(k)}`);
      throw new ConfigError(`--${flag}`, `unknown option (known: ${known.join(', ')}, --duration)`);
    }
    raw[key] = value;
  }
  const options = Value.Convert(definition.options, Value.Default(definition.options, raw)) as Record<
    string,
    unknown
  >;
  const error = Value.Errors(definition.options, options).First();
  if (error) {
    const key = error.path.replace(/^\//, '');
    throw new ConfigError(`--${kebab(key)}`, `${error.message}; got ${JSON.stringify(raw[key] ?? null)}`);
  }
  return options;
}

function parseFlags(args: string[]): { positionals: string[]; flags: Record<string, string> } {
  const positionals: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0) flags[arg.slice(2, eq)] = arg.slice(eq + 1);
    else {
      const value = args[i + 1];
      if (value === undefined || value.startsWith('--')) throw new ConfigError(arg, 'needs a value');
      flags[arg.slice(2)] = value;
      i++;
    }
  }
  return { positionals, flags };
}

export async function simulateCommand(args: string[]): Promise<number> {
  const { positionals, flags } = parseFlags(args);
  const modules = platformModules().filter((m) => m.simulator);
  const domain = positionals[0];
  const module = modules.find((m) => m.name === domain);
  if (!module?.simulator) {
    const known = modules.map((m) => `  ${m.name.padEnd(10)} ${m.simulator?.description}`).join('\n');
    process.stderr.write(`kansoku simulate: name a domain${domain ? ` (not '${domain}')` : ''}:\n${known}\n`);
    return 2;
  }
  const durationSeconds = flags.duration === undefined ? 0 : Number(flags.duration);
  delete flags.duration;
  if (!Number.isFinite(durationSeconds) || durationSeconds < 0) {
    throw new ConfigError('--duration', `must be a number of seconds ≥ 0; got '${String(durationSeconds)}'`);
  }
  const options = simulatorOptions(module.simulator, flags);
  const log = createLogger({ level: 'info' }, 'kansoku-simulate');
  const simulator = module.simulator.create(options, { log });
  await simulator.start();
  process.stdout.write(`simulating ${module.name}: ${JSON.stringify(options)}\nCtrl-C stops.\n`);
  await new Promise<void>((resolve) => {
    const finish = () => resolve();
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    if (durationSeconds > 0) setTimeout(finish, durationSeconds * 1000).unref();
    simulator.done().then(finish, finish);
  });
  await simulator.stop();
  process.stdout.write(`sent: ${JSON.stringify(simulator.sent())}\n`);
  return 0;
}
