import { describe, expect, it } from 'vitest';
import { InProcessMessageBus } from './in-process-message-bus';

describe('InProcessMessageBus', () => {
  it('delivers to every subscriber of the channel, in publish order, and to no other channel', async () => {
    const bus = new InProcessMessageBus();
    const first: string[] = [];
    const second: string[] = [];
    const other: string[] = [];
    await bus.subscribe('config', (message) => first.push(message));
    await bus.subscribe('config', (message) => second.push(message));
    await bus.subscribe('tail', (message) => other.push(message));
    await bus.publish('config', 'a');
    await bus.publish('config', 'b');
    expect(first).toEqual(['a', 'b']);
    expect(second).toEqual(['a', 'b']);
    expect(other).toEqual([]);
  });

  it('counts subscribers and forgets them when they unsubscribe', async () => {
    const bus = new InProcessMessageBus();
    const received: string[] = [];
    const listener = (message: string) => received.push(message);
    const unsubscribeOne = await bus.subscribe('config', listener);
    await bus.subscribe('config', listener);
    expect(await bus.subscriberCount('config')).toBe(2);
    unsubscribeOne();
    expect(await bus.subscriberCount('config')).toBe(1);
    await bus.publish('config', 'once');
    expect(received).toEqual(['once']);
    expect(await bus.subscriberCount('nobody')).toBe(0);
  });

  it('reports a failing listener and still delivers to the others', async () => {
    const failures: string[] = [];
    const bus = new InProcessMessageBus((error, channel) => failures.push(`${channel}: ${String(error)}`));
    const received: string[] = [];
    await bus.subscribe('config', () => {
      throw new Error('boom');
    });
    await bus.subscribe('config', (message) => received.push(message));
    await expect(bus.publish('config', 'm')).resolves.toBeUndefined();
    expect(received).toEqual(['m']);
    expect(failures).toEqual(['config: Error: boom']);
  });
});
