import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it } from 'vitest';
import { api, asAppError, type Progress } from './commands';

afterEach(() => clearMocks());

const progress = (messagesDone: number, finished = false): Progress => ({
  phase: 'Taking the receipt',
  foldersTotal: 1,
  foldersDone: finished ? 1 : 0,
  folder: 'INBOX',
  messagesDone,
  messagesTotal: 2,
  bytesDone: messagesDone * 100,
  bytesTotal: 200,
  warnings: [],
  finished,
});

describe('commands', () => {
  it('restores from an archive into the mailbox, password in the call only', async () => {
    let seen: Record<string, unknown> = {};
    mockIPC((cmd, payload) => {
      if (cmd !== 'run_restore') throw new Error(`unexpected ${cmd}`);
      seen = payload as Record<string, unknown>;
      return { said: '2 messages were put back into your mailbox.', appended: 2 };
    });
    const mailbox = { spec: 'imaps://ann@mail.example.com:993', password: 'pw' };
    const result = await api.runRestore('/before.zip', mailbox, () => {});
    expect(result.appended).toBe(2);
    expect(seen.archive).toBe('/before.zip');
    expect(seen.mailbox).toEqual(mailbox);
    expect(seen.onProgress).toBeDefined();
  });

  it('runs a task with its arguments and streams progress from the channel', async () => {
    let seen: Record<string, unknown> = {};
    mockIPC((cmd, payload) => {
      if (cmd !== 'run_task') throw new Error(`unexpected ${cmd}`);
      const args = payload as Record<string, unknown>;
      seen = args;
      // Deliver two messages the way the Rust side does: by callback id, indexed from 0.
      const channel = args.onProgress as { id: number };
      const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } })
        .__TAURI_INTERNALS__;
      internals.runCallback(channel.id, { index: 0, message: progress(1) });
      internals.runCallback(channel.id, { index: 1, message: progress(2, true) });
      return { task: 'receipt', code: 'ABCD-EFGH-JKLM' };
    });
    const received: Progress[] = [];
    const result = await api.runTask('receipt', { spec: '/mail' }, ['INBOX'], '/out/a.receipt', (p) => received.push(p));
    expect(result.code).toBe('ABCD-EFGH-JKLM');
    expect(seen.task).toBe('receipt');
    expect(seen.mailbox).toEqual({ spec: '/mail' });
    expect(seen.folders).toEqual(['INBOX']);
    expect(seen.output).toBe('/out/a.receipt');
    await new Promise((r) => setTimeout(r, 0));
    expect(received.map((p) => p.messagesDone)).toEqual([1, 2]);
    expect(received[1].finished).toBe(true);
  });

  it('passes errors from Rust through as they are', async () => {
    mockIPC(() => {
      throw { kind: 'notAMailbox', message: 'X: not a mailbox', hint: 'Choose the folder.' };
    });
    const e = await api.listFolders({ spec: 'X' }).catch((e: unknown) => e);
    expect(asAppError(e)).toEqual({ kind: 'notAMailbox', message: 'X: not a mailbox', hint: 'Choose the folder.' });
  });

  it('turns anything else thrown into an error a screen can show', () => {
    expect(asAppError(new Error('boom'))).toMatchObject({ kind: 'io', message: 'boom' });
    expect(asAppError('text')).toMatchObject({ kind: 'io', message: 'text' });
  });
});
