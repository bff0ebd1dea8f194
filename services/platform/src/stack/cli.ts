/**
 * `tsx services/platform/src/stack/cli.ts up|down|status [--only kafka,nats,clickhouse]`
 * The stack launcher on its own (CI and people use it before and beside `kansoku up`); the kansoku CLI
 * can call runStackCommand for its own `stack` subcommand. A StackError prints as its one-line message.
 */
import { pathToFileURL } from 'node:url';
import {
  isStackError,
  STACK_COMPONENTS,
  type StackComponent,
  stackStatus,
  startStack,
  stopStack,
} from './index.ts';

const USAGE = 'usage: stack up|down|status [--only kafka,nats,clickhouse] [--json]';

export async function runStackCommand(
  argv: string[],
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const [command, ...rest] = argv;
  let only: StackComponent[] | undefined;
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--json') json = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? rest[++i] : arg.slice('--only='.length);
      only = (value ?? '').split(',').filter((s) => s !== '') as StackComponent[];
    } else {
      err(`unknown argument ${arg}\n${USAGE}`);
      return 2;
    }
  }
  try {
    switch (command) {
      case 'up': {
        const endpoints = await startStack(only ? { only } : {});
        if (json) out(JSON.stringify(endpoints));
        else {
          if (endpoints.kafka) out(`KANSOKU_KAFKA_BROKERS=${endpoints.kafka.brokers.join(',')}`);
          if (endpoints.nats) out(`KANSOKU_NATS_SERVERS=${endpoints.nats.servers.join(',')}`);
          if (endpoints.clickhouse?.url) out(`KANSOKU_CLICKHOUSE_URL=${endpoints.clickhouse.url}`);
          if (endpoints.clickhouse?.path) out(`KANSOKU_CLICKHOUSE_PATH=${endpoints.clickhouse.path}`);
        }
        return 0;
      }
      case 'down': {
        const outcome = await stopStack(only);
        if (json) out(JSON.stringify(outcome));
        else for (const [name, what] of Object.entries(outcome)) out(`${name}: ${what}`);
        return 0;
      }
      case 'status': {
        const status = await stackStatus(only ? { only } : {});
        if (json) out(JSON.stringify(status));
        else {
          for (const s of status) {
            out(
              `${s.name.padEnd(10)} ${s.healthy ? 'up  ' : 'down'} ${s.endpoint.join(',')}` +
                `${s.pid ? ` pid ${s.pid}` : ''} — ${s.detail}`,
            );
          }
        }
        return status.every((s) => s.healthy) ? 0 : 1;
      }
      default:
        err(`${command === undefined ? 'no command' : `unknown command ${command}`}\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (isStackError(error)) {
      err(`${error.code}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

export { STACK_COMPONENTS };

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runStackCommand(process.argv.slice(2));
}
