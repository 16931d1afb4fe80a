import { describe, expect, it } from 'vitest';
import { filter, matches } from './search';

const m = { date: '2025-02-01 10:00 UTC', from: 'Zoë Müller <zoe@example.org>', subject: 'Quarterly report', folder: 'INBOX' };

describe('search', () => {
  it('finds every word anywhere, ignoring case and accents', () => {
    expect(matches(m, 'zoe quarterly')).toBe(true);
    expect(matches(m, 'MULLER inbox')).toBe(true);
    expect(matches(m, '2025-02')).toBe(true);
    expect(matches(m, 'quarterly invoice')).toBe(false);
  });
  it('an empty query keeps everything', () => {
    expect(filter([m], '  ')).toHaveLength(1);
    expect(filter([m], 'nothing')).toHaveLength(0);
  });
});
