import { Writable } from 'node:stream';

/** A stream that keeps what is written to it, standing in for stdout or stderr. */
export class CapturedStream extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  /** The JSON lines written, skipping the logging library's one diagnostic line. */
  jsonLines(): Record<string, any>[] {
    return this.text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.event !== undefined);
  }
}
