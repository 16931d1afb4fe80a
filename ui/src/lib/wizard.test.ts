import { describe, expect, it } from 'vitest';
import {
  STEP_COUNT,
  backFrom,
  expectedSize,
  isAfter,
  isArchivePath,
  notAnArchive,
  stepLabel,
  tooLittleSpace,
} from './wizard';

describe('wizard', () => {
  it('always shows the same step count', () => {
    expect(STEP_COUNT).toBe(6);
    expect(stepLabel(3)).toBe('Step 3 of 6');
  });
  it('goes back one step, but never into the progress screen', () => {
    expect(backFrom(1)).toBe(1);
    expect(backFrom(2)).toBe(1);
    expect(backFrom(4)).toBe(3);
    expect(backFrom(6)).toBe(4);
  });
  it('knows which goals come after a migration', () => {
    expect(isAfter('check')).toBe(true);
    expect(isAfter('restore')).toBe(true);
    expect(isAfter('export')).toBe(false);
    expect(isAfter(null)).toBe(false);
  });
  it('expects an archive about the size of the mail, a receipt much smaller', () => {
    expect(expectedSize('export', 100, 1_000_000)).toBe(1_020_000);
    expect(expectedSize('receipt', 100, 1_000_000)).toBeLessThan(100_000);
  });
  it('warns when the disk is too small, not when its size is unknown', () => {
    expect(tooLittleSpace(1000, 500)).toBe(true);
    expect(tooLittleSpace(1000, 10_000)).toBe(false);
    expect(tooLittleSpace(1000, null)).toBe(false);
  });
  it('restores only from an archive, never from a receipt', () => {
    expect(isArchivePath('/home/ann/Mailbox-2026-11-23.zip')).toBe(true);
    expect(isArchivePath('C:\\Users\\ann\\BEFORE.ZIP ')).toBe(true);
    expect(isArchivePath('/home/ann/Mailbox-2026-11-23.receipt')).toBe(false);
    expect(isArchivePath('/home/ann/zip')).toBe(false);
  });
});

describe('notAnArchive', () => {
  it('says why a receipt cannot restore, and keeps the hint for where the user stands', () => {
    const e = notAnArchive('Choose the archive (.zip).');
    expect(e.kind).toBe('usage');
    expect(e.message).toMatch(/not an archive/);
    expect(e.message).toMatch(/holds none to put back/);
    expect(e.hint).toBe('Choose the archive (.zip).');
  });
});
