/**
 * `kansoku simulate <domain> [--option value …] [--duration s]`: runs a domain's traffic simulator against
 * the running platform. Options come from the simulator's schema (`--rate 5000` → rate); a bad one stops
 * with its name, like configuration does.
 */
import { ConfigError, createLogger, type SimulatorDefinition } from '@kansoku/kit';
import { optionsFromFlags, parseFlags } from './command-options.ts';
import { platformModules } from './modules.ts';

export function simulatorOptions(
  definition: SimulatorDefinition,
  flags: Record<string, string>,
): Record<string, unknown> {
  return optionsFromFlags(definition.options, flags, ['--duration']);
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
