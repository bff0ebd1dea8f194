import { describe, expect, it } from 'vitest';
import { type Component, createLifecycle } from '../src/lifecycle.ts';
import { silentLogger } from '../src/log.ts';

function recorder() {
  const events: string[] = [];
  const component = (name: string, options: { failStart?: boolean; hangStop?: boolean } = {}): Component => ({
    name,
    async start() {
      if (options.failStart) throw new Error(`${name} cannot start`);
      events.push(`start ${name}`);
    },
    async stop() {
      if (options.hangStop) await new Promise(() => undefined);
      events.push(`stop ${name}`);
    },
  });
  return { events, component };
}

describe('lifecycle', () => {
  it('starts in order and stops in reverse', async () => {
    const { events, component } = recorder();
    const lifecycle = createLifecycle(
      [component('warehouse'), component('processor'), component('gateway')],
      {
        log: silentLogger(),
      },
    );
    await lifecycle.start();
    await lifecycle.stop();
    expect(events).toEqual([
      'start warehouse',
      'start processor',
      'start gateway',
      'stop gateway',
      'stop processor',
      'stop warehouse',
    ]);
  });

  it('stops what had started when a later component fails to start, and rethrows', async () => {
    const { events, component } = recorder();
    const lifecycle = createLifecycle([component('a'), component('b'), component('c', { failStart: true })], {
      log: silentLogger(),
    });
    await expect(lifecycle.start()).rejects.toThrow('c cannot start');
    expect(events).toEqual(['start a', 'start b', 'stop b', 'stop a']);
  });

  it('moves on past a component that does not stop in time, and stops once however often asked', async () => {
    const { events, component } = recorder();
    const lifecycle = createLifecycle([component('a'), component('stuck', { hangStop: true })], {
      log: silentLogger(),
      stopTimeoutMs: 50,
    });
    await lifecycle.start();
    await Promise.all([lifecycle.stop(), lifecycle.stop()]);
    expect(events).toEqual(['start a', 'start stuck', 'stop a']);
  });
});
