import { describe, expect, it } from 'vitest';
import { RateMeter, WINDOW_MS, fractionDone } from './rate';

describe('RateMeter', () => {
  it('needs half a second of samples before it estimates', () => {
    const m = new RateMeter();
    m.add({ at: 0, messages: 0, bytes: 0 });
    m.add({ at: 100, messages: 10, bytes: 1000 });
    expect(m.estimate(100, null).secondsLeft).toBeNull();
  });
  it('estimates from bytes when the byte total is known', () => {
    const m = new RateMeter();
    m.add({ at: 0, messages: 0, bytes: 0 });
    m.add({ at: 2000, messages: 100, bytes: 2_000_000 });
    const e = m.estimate(1000, 10_000_000);
    expect(e.messagesPerSecond).toBe(50);
    expect(e.bytesPerSecond).toBe(1_000_000);
    expect(e.secondsLeft).toBe(8);
  });
  it('falls back to messages, and looks only at the recent window', () => {
    const m = new RateMeter();
    m.add({ at: 0, messages: 0, bytes: 0 });
    // A slow start...
    m.add({ at: 10_000, messages: 10, bytes: 0 });
    // ...then fast: the estimate follows the recent speed.
    m.add({ at: 10_000 + WINDOW_MS, messages: 510, bytes: 0 });
    const e = m.estimate(1510, null);
    expect(e.messagesPerSecond).toBe(100);
    expect(e.secondsLeft).toBe(10);
  });
  it('fraction done', () => {
    expect(fractionDone(5, null)).toBeNull();
    expect(fractionDone(5, 0)).toBe(1);
    expect(fractionDone(5, 10)).toBe(0.5);
    expect(fractionDone(15, 10)).toBe(1);
  });
});
