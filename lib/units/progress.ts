// A progress bar with an ETA per stage, drawn from the trainer's JSON progress lines
// ({"event": "stage"|"progress"|"done", ...}) and the command's own stages.

export interface ProgressEvent {
  event: 'stage' | 'progress' | 'done';
  stage?: string; label?: string;
  /** progress: item `item` of `items` (a unit of the search), step `done` of `total` within it. */
  item?: number; items?: number; done?: number; total?: number;
}

export interface ProgressOut { isTTY?: boolean; write(s: string): unknown }

const clock = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
  : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`);

/** Fraction of the stage done: items finished plus the share of the current one. */
export function stageFraction(e: ProgressEvent): number {
  const items = e.items ?? 1;
  const within = e.total ? (e.done ?? 0) / e.total : 0;
  return Math.min(1, ((e.item ?? 0) + within) / items);
}

/** ETA from the time spent in the stage so far (null until there is something to go on). */
export function eta(fraction: number, elapsedSeconds: number): number | null {
  if (fraction <= 0.01 || elapsedSeconds < 0.5) return null;
  return Math.max(0, elapsedSeconds / fraction - elapsedSeconds);
}

export class ProgressBar {
  private stage = '';
  private label = '';
  private started = Date.now();
  private lastLine = '';
  private lastPrinted = -1;

  constructor(private readonly out: ProgressOut, private readonly width = 28, private readonly now = () => Date.now()) {}

  handle(e: ProgressEvent): void {
    if (e.event === 'stage') this.begin(e.stage ?? '?', e.label ?? '');
    else if (e.event === 'progress') this.draw(stageFraction(e), e.label ?? this.label, e.items && e.items > 1 ? ` (${(e.item ?? 0) + 1}/${e.items})` : '');
    else if (e.event === 'done') this.finish();
  }

  begin(stage: string, label = ''): void {
    this.finish();
    this.stage = stage; this.label = label; this.started = this.now(); this.lastPrinted = -1;
    this.draw(0, label, '');
  }

  draw(fraction: number, label: string, count: string): void {
    const elapsed = (this.now() - this.started) / 1000;
    const left = eta(fraction, elapsed);
    const filled = Math.round(fraction * this.width);
    const bar = '█'.repeat(filled) + '░'.repeat(this.width - filled);
    const line = `${this.stage.padEnd(8)} ${bar} ${String(Math.floor(fraction * 100)).padStart(3)}%  ${clock(elapsed)}${left === null ? '' : ` ETA ${clock(left)}`}  ${label}${count}`;
    if (this.out.isTTY) {
      this.out.write(`\r${line}${' '.repeat(Math.max(0, this.lastLine.length - line.length))}`);
    } else {
      const decile = Math.floor(fraction * 10); // not a terminal: one line per 10%
      if (decile === this.lastPrinted) return;
      this.lastPrinted = decile;
      this.out.write(`${line}\n`);
    }
    this.lastLine = line;
  }

  finish(): void {
    if (this.stage && this.out.isTTY && this.lastLine) this.out.write('\n');
    this.lastLine = '';
    this.stage = '';
  }
}
