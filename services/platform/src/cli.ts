/**
 * The `kansoku` command line (`pnpm kansoku <command>`).
 *
 *   up                   the whole platform in one process, on the embedded defaults
 *   run <service...>     chosen services only (one Deployment per service in a cluster)
 *   migrate              create Kafka topics and apply warehouse migrations, then exit
 *   simulate <domain>    report-shaped traffic for demos and load tests
 *   replay <name> <file> a recorded file (MRT dump, DNS pcap, dnstap) into the running platform
 *   stack up|down|status the local Kafka, NATS and embedded ClickHouse
 *   services             list services
 *
 * Every command takes --config <file.yaml>, --check (validate the configuration and exit) and
 * --dump (print the effective configuration and exit).
 */
import { parseArgs } from 'node:util';
import { ConfigError, errorMessage, KansokuError } from '@kansoku/kit';
import { describeServices, runPlatform } from './platform.ts';
import { replayCommand } from './replay.ts';
import { simulateCommand } from './simulate.ts';
import { runStackCommand } from './stack/cli.ts';

const USAGE = `usage: pnpm kansoku <command> [options]

commands:
  up                      run the whole platform in one process (starts the local stack if needed)
  run <service...>        run the named services only (see: pnpm kansoku services)
  migrate                 create Kafka topics and apply ClickHouse migrations, then exit
  simulate <domain>       send simulated traffic to the running platform [--rate N] [--speed S] [--duration s] …
  replay <name> <file>    replay a recorded file into the running platform (pnpm kansoku replay lists them)
  stack up|down|status    manage the local Kafka, NATS and embedded ClickHouse [--only kafka,nats] [--json]
  services                list the services

options:
  --config <file>         YAML configuration (default: $KANSOKU_CONFIG); env KANSOKU_<SECTION>_<KEY> overrides it
  --check                 validate the configuration and exit (0 when valid)
  --dump                  print the effective configuration and exit
  --no-stack              (up) do not start the local stack; use what the configuration points at
  --demo                  (up) also send simulated, report-shaped traffic so the boards fill at once
  --except <a,b>          (up) every service but these, e.g. a collector run apart with 'kansoku run' at high rates
`;

async function main(argv: string[]): Promise<number> {
  // `stack` has options of its own (--only, --json): hand it the rest of the line as is.
  if (argv[0] === 'stack') return runStackCommand(argv.slice(1));
  if (argv[0] === 'simulate') return simulateCommand(argv.slice(1));
  if (argv[0] === 'replay') return replayCommand(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      check: { type: 'boolean', default: false },
      dump: { type: 'boolean', default: false },
      'no-stack': { type: 'boolean', default: false },
      demo: { type: 'boolean', default: false },
      except: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command || command === 'help') {
    process.stdout.write(USAGE);
    return command || values.help ? 0 : 2;
  }
  const common = {
    configFile: values.config ?? process.env.KANSOKU_CONFIG,
    check: values.check,
    dump: values.dump,
  };
  switch (command) {
    case 'up':
      return runPlatform({
        ...common,
        mode: 'up',
        startStack: !values['no-stack'],
        demo: values.demo,
        except: values.except ? values.except.split(',').map((name) => name.trim()) : [],
      });
    case 'run':
      if (rest.length === 0) {
        process.stderr.write('kansoku run: name at least one service (pnpm kansoku services lists them)\n');
        return 2;
      }
      return runPlatform({ ...common, mode: 'run', services: rest, startStack: false });
    case 'migrate':
      return runPlatform({ ...common, mode: 'migrate', startStack: false });
    case 'services':
      process.stdout.write(describeServices());
      return 0;
    default:
      process.stderr.write(`kansoku: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`kansoku: configuration error: ${error.message}\n`);
      process.exitCode = 2;
    } else if (error instanceof KansokuError || (error instanceof Error && 'code' in error)) {
      process.stderr.write(
        `kansoku: ${errorMessage(error)}${'code' in (error as object) ? ` [${(error as { code: string }).code}]` : ''}\n`,
      );
      process.exitCode = 1;
    } else {
      process.stderr.write(
        `kansoku: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
