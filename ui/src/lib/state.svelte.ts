// The wizard's state, shared by every screen. Passwords live here, in memory only, and go to
// the Rust side only inside the call that needs them.

import type { AppError, CheckResult, FolderList, MailboxRef, Progress, RestoreResult, RunResult, SaveTarget } from '../ipc/commands';
import { type AccountForm, accountSpec } from './account';
import type { Goal } from './wizard';

export type SourceKind = 'files' | 'account';

export const wiz = $state({
  step: 1,
  goal: null as Goal | null,
  source: 'files' as SourceKind,
  /** A local mailbox: its spec, and how it was chosen, for the screen. */
  spec: '',
  specLabel: '',
  account: { preset: 'gmail', user: '', host: 'imap.gmail.com', port: 993, security: 'tls', certificate: '' } as AccountForm,
  password: '',
  /** Who sent the connection profile in use, if one was loaded. */
  profileLabel: null as string | null,
  /** After the migration: the receipt or archive taken before. */
  receipt: '',
  /** The archive a restore reads from: the one checked against, or one chosen for the restore. */
  archive: '',
  folders: null as FolderList | null,
  selected: [] as string[],
  output: null as SaveTarget | null,
  progress: null as Progress | null,
  running: false,
  run: null as RunResult | null,
  check: null as CheckResult | null,
  /** What the last restore did; its check is `check`. */
  restored: null as RestoreResult | null,
  /** True while the run in progress is a restore, which adds to the mailbox. */
  restoring: false,
  /** The error of the screen being shown, cleared when the screen changes. */
  error: null as AppError | null,
});

/** The mailbox as the commands take it. */
export function mailboxRef(): MailboxRef {
  if (wiz.source === 'account') return { spec: accountSpec(wiz.account), password: wiz.password };
  return { spec: wiz.spec };
}

export function goTo(step: number): void {
  wiz.error = null;
  wiz.step = step;
}

/** Forgets everything but the chosen goal's screen 1: a fresh start. */
export function startOver(): void {
  Object.assign(wiz, {
    step: 1,
    goal: null,
    password: '',
    receipt: '',
    archive: '',
    folders: null,
    selected: [],
    output: null,
    progress: null,
    run: null,
    check: null,
    restored: null,
    error: null,
  });
}
