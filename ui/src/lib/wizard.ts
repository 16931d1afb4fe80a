// The wizard's steps and goals: one decision per screen, a fixed step count so a helpdesk can
// say "you should be on step 3 of 6", and Back that always leads somewhere sensible.

import type { AppError } from '../ipc/bindings';

export type Goal = 'receipt' | 'export' | 'check' | 'restore';

export const STEPS = ['Start', 'Mailbox', 'Folders', 'Where to save', 'Working', 'Result'] as const;
export const STEP_COUNT = STEPS.length;

export function stepLabel(step: number): string {
  return `Step ${step} of ${STEP_COUNT}`;
}

/** Before the migration: a receipt or an export. After: a check, then perhaps a restore. */
export function isAfter(goal: Goal | null): boolean {
  return goal === 'check' || goal === 'restore';
}

/** Where Back leads from `step`. The progress screen is never a destination: it only exists
 * while work runs, so going back from the result lands on "where to save". */
export function backFrom(step: number): number {
  if (step <= 1) return 1;
  if (step === 6) return 4;
  return step - 1;
}

export const GOALS: { id: Goal; title: string; detail: string; when: 'before' | 'after' }[] = [
  {
    id: 'receipt',
    title: 'Take a receipt',
    detail: 'A small file listing every message, to check against after the migration. No message contents.',
    when: 'before',
  },
  {
    id: 'export',
    title: 'Export everything',
    detail: 'Every message in one archive file, with its receipt inside: a full copy to restore from.',
    when: 'before',
  },
  {
    id: 'check',
    title: 'Check against my receipt',
    detail: 'Compare the new mailbox with the receipt or archive taken before, and see what is missing.',
    when: 'after',
  },
  {
    id: 'restore',
    title: 'Restore missing messages',
    detail: 'Check first, then put the missing messages back from your archive.',
    when: 'after',
  },
];

/** What the save step asks for, by goal. */
export function saveTitle(goal: Goal): string {
  switch (goal) {
    case 'receipt':
      return 'Where should the receipt go?';
    case 'export':
      return 'Where should the archive go?';
    default:
      return 'Where should the check report go?';
  }
}

/** About how big the output will be, from the selected folders' sizes. A receipt holds about
 * half a kilobyte per message; an archive at most the mail itself (it is compressed). */
export function expectedSize(goal: Goal, messages: number, bytes: number): number {
  if (goal === 'export') return bytes + messages * 200;
  if (goal === 'receipt') return messages * 600 + 4096;
  return messages * 300 + 65536;
}

/** True when `free` bytes are clearly not enough for `needed`. */
export function tooLittleSpace(needed: number, free: number | null): boolean {
  return free !== null && free < needed * 1.1;
}

/** True for a path that names an archive (a zip): a restore reads messages from one. A receipt
 * lists messages but holds none. */
export function isArchivePath(path: string): boolean {
  return /\.zip$/i.test(path.trim());
}

/** The error for a restore given something other than an archive; `hint` says what to choose
 * from where the user stands. */
export function notAnArchive(hint: string): AppError {
  return {
    kind: 'usage',
    message: 'This is not an archive: a receipt lists your messages but holds none to put back.',
    hint,
  };
}
