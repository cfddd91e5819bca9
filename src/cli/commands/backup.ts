// `mailroom backup DIR` (online, consistent) and `mailroom restore DIR` (into an empty data_dir, then checked).
import { resolve } from 'node:path';
import { MailroomError } from '../../errors.js';
import { backupDataDir, restoreDataDir } from '../../store/sqlite/backup.js';
import { noMoreArgs, requireArg, type Command } from '../main.js';

export const backupCommand: Command = {
  name: 'backup',
  summary: 'DIR [--json]: a consistent copy of data_dir while the server runs',
  options: { json: { type: 'boolean' } },
  async run(ctx) {
    const target = resolve(ctx.io.cwd, requireArg(ctx, 0, 'target folder', 'mailroom backup DIR'));
    noMoreArgs(ctx, 1, 'mailroom backup DIR');
    const result = backupDataDir(ctx.config().dataDir, target);
    if (ctx.values.json) ctx.printJson(result);
    else
      ctx.print(
        `backup in ${target}: ${result.messages} messages, ${result.queue_entries} queue entries, ` +
          `${result.blob_files} blob files, ${result.bytes} bytes, schema ${result.schema_version}`,
      );
  },
};

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'DIR [--json]: fill an empty data_dir from a backup and check it',
  options: { json: { type: 'boolean' } },
  async run(ctx) {
    const source = resolve(ctx.io.cwd, requireArg(ctx, 0, 'backup folder', 'mailroom restore DIR'));
    noMoreArgs(ctx, 1, 'mailroom restore DIR');
    const dataDir = ctx.config().dataDir;
    const result = restoreDataDir(source, dataDir);
    if (ctx.values.json) ctx.printJson({ data_dir: dataDir, ...result });
    else
      ctx.print(
        `restored ${source} into ${dataDir}: ${result.messages} messages, ${result.queueEntries} queue entries, ` +
          `${result.blobFiles} blob files; integrity ${result.ok ? 'ok' : 'FAILED'}`,
      );
    if (!result.ok) throw new MailroomError('INTEGRITY', `restore: ${result.problems.join('; ')}`);
  },
};
