/** A dependency the service needs (kafka, clickhouse, nats), checked by /health and /ready. */
export interface HealthCheck {
  readonly name: string;
  /** Resolves with a short detail when healthy; rejects (with a reason) when not. */
  check(): Promise<string>;
}

export interface HealthReport {
  name: string;
  ok: boolean;
  detail: string;
  latencyMs: number;
}

export async function runHealthChecks(
  checks: readonly HealthCheck[],
  timeoutMs = 3000,
): Promise<HealthReport[]> {
  return Promise.all(
    checks.map(async (c) => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        const detail = await Promise.race([c.check(), timeout]);
        return { name: c.name, ok: true, detail, latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        return { name: c.name, ok: false, detail, latencyMs: Math.round(performance.now() - started) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
