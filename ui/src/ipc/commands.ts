// One typed wrapper per Tauri command: the only module that talks to the Rust side. Types come
// from bindings.ts, generated from src-tauri/src/ipc.rs.

import { Channel, invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type {
  AppError,
  CheckResult,
  ConnectionReport,
  FolderList,
  FoundMailbox,
  MailboxRef,
  Pick,
  Progress,
  ReportFormat,
  RestoreResult,
  RunResult,
  SaveTarget,
  Task,
  TicketSummary,
} from './bindings';

export type * from './bindings';

/** True for the errors commands return (as opposed to a bug in the page). */
export function isAppError(e: unknown): e is AppError {
  return typeof e === 'object' && e !== null && 'kind' in e && 'message' in e && 'hint' in e;
}

/** Any thrown value as an AppError, so every screen can show it the same way. */
export function asAppError(e: unknown): AppError {
  if (isAppError(e)) return e;
  return {
    kind: 'io',
    message: e instanceof Error ? e.message : String(e),
    hint: 'Try again; if it happens again, tell your helpdesk.',
  };
}

function channel(onProgress: (p: Progress) => void): Channel<Progress> {
  const ch = new Channel<Progress>();
  ch.onmessage = onProgress;
  return ch;
}

export const api = {
  findMailboxes: () => invoke<FoundMailbox[]>('find_mailboxes'),
  listFolders: (mailbox: MailboxRef) => invoke<FolderList>('list_folders', { mailbox }),
  testConnection: (mailbox: MailboxRef) => invoke<ConnectionReport>('test_connection', { mailbox }),
  pickPath: (pick: Pick) => invoke<string | null>('pick_path', { pick }),
  openProfile: () => invoke<string | null>('open_profile'),
  chooseOutput: (task: Task, location: string, today: string) =>
    invoke<SaveTarget | null>('choose_output', { task, location, today }),
  runTask: (
    task: Task,
    mailbox: MailboxRef,
    folders: string[],
    output: string,
    onProgress: (p: Progress) => void,
  ) => invoke<RunResult>('run_task', { task, mailbox, folders, output, onProgress: channel(onProgress) }),
  runCheck: (before: string, after: MailboxRef, report: string | null, onProgress: (p: Progress) => void) =>
    invoke<CheckResult>('run_check', { before, after, report, onProgress: channel(onProgress) }),
  runRestore: (archive: string, mailbox: MailboxRef, onProgress: (p: Progress) => void) =>
    invoke<RestoreResult>('run_restore', { archive, mailbox, onProgress: channel(onProgress) }),
  cancelRun: () => invoke<boolean>('cancel_run'),
  saveReport: (format: ReportFormat, today: string) => invoke<string | null>('save_report', { format, today }),
  ticketSummary: () => invoke<TicketSummary>('ticket_summary'),
  closeNow: () => invoke<void>('close_now'),
  /** Calls `ask` when the user closes the window while a run is in progress. */
  onCloseWhileRunning: (ask: () => void) => listen('close-while-running', ask),
};
