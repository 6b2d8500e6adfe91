// One rewritten status line on stderr for long commands (simulate, bench), shown only when
// stderr is a terminal: a pipe, a file or a CI log gets nothing extra.
import type { CliIo } from './cli-io';

/** Redraws at most this often on updates, and at least this often while work runs (the clock moves). */
const REDRAW_MS = 250;

export interface Progress {
  /** `done` is the share of the whole work finished (0–1); `what` says where it is. */
  update(done: number, what: string): void;
  /** Clears the line, so the command's own output starts on a clean one. */
  finish(): void;
}

const SILENT: Progress = { update: () => undefined, finish: () => undefined };

export function progressLine(io: Pick<CliIo, 'stderr'>, options: { command: string; enabled: boolean }): Progress {
  if (!options.enabled || io.stderr.isTTY !== true) return SILENT;
  const startedAt = performance.now();
  let drawnAt = Number.NEGATIVE_INFINITY;
  let state: { done: number; what: string } | null = null;
  const draw = () => {
    if (state === null) return;
    drawnAt = performance.now();
    const share = Math.min(1, Math.max(0, state.done));
    const elapsed = drawnAt - startedAt;
    const eta = share > 0.02 ? ` · about ${clock((elapsed * (1 - share)) / share)} left` : '';
    io.stderr.write(`\r\x1b[K${options.command}: ${state.what} · ${Math.floor(share * 100)}% · ${clock(elapsed)} elapsed${eta}`);
  };
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref();
  return {
    update(done, what) {
      state = { done, what };
      if (performance.now() - drawnAt >= REDRAW_MS) draw();
    },
    finish() {
      clearInterval(timer);
      if (state !== null) io.stderr.write('\r\x1b[K');
    },
  };
}

function clock(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
