/** The child process of board-load.ts: runs autocannon and sends back its numbers. */
import { seededRandom } from '@kansoku/kit';
import autocannon from 'autocannon';
import type { BoardLoadOptions, BoardLoadReport, DriverMessage } from './board-load.ts';
import { boardPath, FLOWS_BOARD_PANELS, pickRange } from './flows-board.ts';

function send(message: DriverMessage): void {
  process.send?.(message);
}

async function run(options: BoardLoadOptions): Promise<BoardLoadReport> {
  const random = seededRandom(options.seed);
  const statusCodes: Record<string, number> = {};
  const cacheOutcomes: Record<string, number> = {};
  const byRange: Record<string, number> = {};
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    overallRate: options.rate,
    duration: options.seconds,
    timeout: options.timeoutSeconds,
    headers: { authorization: `Bearer ${options.token}` },
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => {
          const panel = FLOWS_BOARD_PANELS[Math.floor(random() * FLOWS_BOARD_PANELS.length)]!;
          const range = pickRange(random());
          byRange[range.label] = (byRange[range.label] ?? 0) + 1;
          // `now` when the request is made: the board's window slides as a refreshing board's does.
          return { ...request, path: boardPath(panel, range, Date.now()) };
        },
        onResponse: (status, _body, _context, headers) => {
          statusCodes[status] = (statusCodes[status] ?? 0) + 1;
          const outcome = (headers as Record<string, string> | undefined)?.['x-kansoku-cache'];
          if (outcome) cacheOutcomes[outcome] = (cacheOutcomes[outcome] ?? 0) + 1;
        },
      },
    ],
  });
  const latency = result.latency;
  return {
    requests: result.requests.total,
    rps: result.requests.total / options.seconds,
    p50_ms: latency.p50,
    p90_ms: latency.p90,
    p99_ms: latency.p99,
    max_ms: latency.max,
    mean_ms: latency.average,
    errors: result.non2xx + result.errors + result.timeouts,
    non2xx: result.non2xx,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    cacheOutcomes,
    byRange,
  };
}

process.once('message', (message: DriverMessage) => {
  if (message.type !== 'run') return;
  run(message.options)
    .then((report) => send({ type: 'done', report }))
    .catch((error: unknown) => send({ type: 'error', message: String(error) }));
});
