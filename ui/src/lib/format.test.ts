import { describe, expect, it } from 'vitest';
import { count, duration, plural, size, today, utc } from './format';

describe('format', () => {
  it('counts with separators', () => {
    expect(count(0)).toBe('0');
    expect(count(1234567)).toBe('1,234,567');
    expect(plural(1, 'message', 'messages')).toBe('1 message');
    expect(plural(1200, 'message', 'messages')).toBe('1,200 messages');
  });
  it('sizes in decimal units, like the command line', () => {
    expect(size(999)).toBe('999 bytes');
    expect(size(25_000)).toBe('25 KB');
    expect(size(1_127_560_038)).toBe('1.1 GB');
  });
  it('durations in words', () => {
    expect(duration(5)).toBe('less than a minute');
    expect(duration(180)).toBe('about 3 minutes');
    expect(duration(3600)).toBe('about 1 hour');
    expect(duration(4800)).toBe('about 1 hour 20 minutes');
    expect(duration(Number.NaN)).toBe('unknown');
  });
  it('times as the reports write them', () => {
    expect(utc('2026-11-24T00:00:22Z')).toBe('2026-11-24 00:00 UTC');
    expect(utc('yesterday')).toBe('yesterday');
  });
  it('dates for file names', () => {
    expect(today(new Date(2026, 0, 5))).toBe('2026-01-05');
  });
});
