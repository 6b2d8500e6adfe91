// Output files the commands write after long work: checked before the work starts.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Why `path` cannot be written as a new or replaced file, or null when it can. */
export function unwritable(path: string): string | null {
  try {
    if (existsSync(path)) {
      const stats = statSync(path);
      if (stats.isDirectory()) return `${path} is a directory`;
      // A FIFO would hang the write after the pass's mutations; a device is no record.
      if (!stats.isFile()) return `${path} is not a regular file`;
      accessSync(path, constants.W_OK);
    } else {
      accessSync(dirname(resolve(path)), constants.W_OK);
    }
    return null;
  } catch (err) {
    return `cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
}
