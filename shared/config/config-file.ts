// Reading the config file: a regular file of bounded size, nothing else. A FIFO would block the
// pass forever waiting for a writer, and /dev/zero would be read until memory runs out.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** A config is a few kilobytes; this is far beyond any real fleet. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Why the file is not a config makemac will read; the message names no content. */
export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
}

export function readConfigFile(path: string): string {
  // Non-blocking, so that opening a FIFO returns at once instead of waiting for a writer.
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new ConfigFileError(`is not a regular file (${fileKind(stats)})`);
    // Read one byte past the bound rather than trust the size: some files report 0.
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    if (length > MAX_CONFIG_BYTES) throw new ConfigFileError(`is larger than ${MAX_CONFIG_BYTES / 1024} KiB`);
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}
