// A johnny-five board over Firmata on a serial path (or over an injected IO plugin), that
// comes back by itself when its port does, and releases everything johnny-five keeps
// globally when closed: the port, its entry in five.Board's module-level cache, and the
// components registered on it.
import { EventEmitter } from 'node:events';
import type * as five from 'johnny-five';
import { johnnyFive, optionalModule } from './optional';
import type { BindingInterface } from '@serialport/bindings-interface';

/** An IO plugin as johnny-five takes it: Firmata, mock-firmata, raspi-io, … */
export type IoPlugin = EventEmitter & { isReady?: boolean; name?: string; [method: string]: unknown };

/** johnny-five's Board is an EventEmitter; its @types leave most of that out. */
export type J5Board = five.Board & EventEmitter;

export type BoardState = 'connecting' | 'ready' | 'lost' | 'closed';

export interface BoardOptions {
  /** Serial device of the Firmata board, e.g. /dev/ttyACM0 (ignored when `io` is given). */
  path?: string;
  /** StandardFirmata talks at 57600 baud. */
  baudRate?: number;
  /** Serial binding; default the operating system's. Tests pass @serialport/binding-mock. */
  binding?: BindingInterface;
  /** An IO plugin factory instead of Firmata over serial, called again on every reconnect. */
  io?: () => IoPlugin;
  /** Wait between attempts while the port is missing or silent. */
  reconnectMs?: number;
  /** An Uno resets when its port opens and runs its bootloader for ~2 s before Firmata answers. */
  readyTimeoutMs?: number;
  id?: string;
}

/** Sets up components on a ready board; what it returns tears them down. */
export type ComponentSetup = (board: five.Board) => (() => void) | void;

interface Attempt {
  io: IoPlugin;
  board: J5Board;
  port: SerialStream | null;
}

// The part of SerialPortStream this module uses (it is loaded lazily, see openSerial).
interface SerialStream extends EventEmitter {
  isOpen: boolean;
  open(cb: (err: Error | null) => void): void;
  close(cb?: (err: Error | null) => void): void;
}

// johnny-five keeps every Board in a module-level array (Board.cache is a getter for it)
// and components find "their" board there; a closed board must leave it.
const boardCache = (): five.Board[] => (johnnyFive().Board as unknown as { cache: five.Board[] }).cache;

export class BoardConnection extends EventEmitter {
  state: BoardState = 'connecting';
  lastError: Error | null = null;
  /** How many times the board became ready (1 = first connection). */
  connections = 0;
  private attempt: Attempt | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private readyTimer: NodeJS.Timeout | null = null;
  private readonly setups = new Set<ComponentSetup>();
  private teardowns = new Map<ComponentSetup, () => void>();
  private readonly opts: Required<Pick<BoardOptions, 'baudRate' | 'reconnectMs' | 'readyTimeoutMs'>> & BoardOptions;

  constructor(options: BoardOptions) {
    super();
    if (!options.io && !options.path) throw new Error('a board needs a serial port path (e.g. /dev/ttyACM0) or an IO plugin');
    // A missing optional library is a configuration problem, said once, not a retry loop.
    johnnyFive();
    if (!options.io) { optionalModule('firmata-io'); optionalModule('serialport'); }
    this.opts = { baudRate: 57600, reconnectMs: 2000, readyTimeoutMs: 15000, ...options };
    // 'error' is reported through 'state'; an EventEmitter without an error listener would throw.
    this.on('error', () => undefined);
    this.connect();
  }

  get board(): five.Board | null {
    return this.state === 'ready' ? this.attempt!.board : null;
  }

  get description(): string {
    return this.opts.io ? 'IO plugin' : this.opts.path!;
  }

  /** Resolves with the board once it is ready (now, or after the next (re)connection). */
  ready(timeoutMs = this.opts.readyTimeoutMs): Promise<five.Board> {
    if (this.board) return Promise.resolve(this.board);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.off('state', onState); reject(new Error(`board on ${this.description} not ready after ${timeoutMs} ms${this.lastError ? `: ${this.lastError.message}` : ''}`)); }, timeoutMs);
      const onState = (state: BoardState) => {
        if (state === 'ready') { clearTimeout(timer); this.off('state', onState); resolve(this.attempt!.board); }
        if (state === 'closed') { clearTimeout(timer); this.off('state', onState); reject(new Error('board closed')); }
      };
      this.on('state', onState);
    });
  }

  /**
   * Registers components: set up now if the board is ready, and again after every
   * reconnection (johnny-five components belong to one Board instance). Returns a remover.
   */
  use(setup: ComponentSetup): () => void {
    this.setups.add(setup);
    if (this.board) this.runSetup(setup, this.board);
    return () => {
      this.setups.delete(setup);
      const teardown = this.teardowns.get(setup);
      this.teardowns.delete(setup);
      safely(teardown);
    };
  }

  /** Closes the port and forgets the board; no reconnection after this. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.setState('closed');
    this.clearTimers();
    this.setups.clear();
    await this.release();
    this.removeAllListeners();
  }

  private setState(state: BoardState, error?: Error): void {
    this.state = state;
    if (error) this.lastError = error;
    this.emit('state', state, error);
  }

  private connect(): void {
    if (this.state === 'closed') return;
    this.retryTimer = null;
    if (this.opts.io) {
      // Synchronously: a plugin may emit 'connect' and 'ready' as soon as it exists.
      let io: IoPlugin;
      try { io = this.opts.io(); } catch (err) { this.lost(err as Error); return; }
      this.startBoard(io, null);
      return;
    }
    this.openSerial().then(({ io, port }) => {
      if (this.state === 'closed') { void closePort(port); return; }
      this.startBoard(io, port);
    }, (err: Error) => this.lost(err));
  }

  private async openSerial(): Promise<{ io: IoPlugin; port: SerialStream }> {
    // Loaded here, not at the top: it loads the OS's native binding, which a board on an
    // injected IO plugin never needs. An injected binding replaces the detected one.
    const { SerialPort } = optionalModule<typeof import('serialport')>('serialport');
    const options = { path: this.opts.path!, baudRate: this.opts.baudRate, autoOpen: false, highWaterMark: 256, ...(this.opts.binding && { binding: this.opts.binding }) };
    const port = new SerialPort(options as ConstructorParameters<typeof SerialPort>[0]) as unknown as SerialStream;
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    // firmata-io takes an open stream as its transport; a Board bound to no default transport.
    const Firmata = optionalModule<{ Firmata: new (port: unknown, opts: object) => IoPlugin }>('firmata-io').Firmata;
    const io = new Firmata(port, { reportVersionTimeout: Math.min(5000, this.opts.readyTimeoutMs) });
    return { io, port };
  }

  private startBoard(io: IoPlugin, port: SerialStream | null): void {
    const board = new (johnnyFive().Board)({ io, id: this.opts.id, repl: false, debug: false, sigint: false, timeout: this.opts.readyTimeoutMs * 2 } as five.BoardOption) as J5Board;
    const attempt: Attempt = { io, board, port };
    this.attempt = attempt;
    const lostWith = (why: string) => (err?: Error) => {
      if (this.attempt === attempt && this.state !== 'closed') this.lost(err instanceof Error ? err : new Error(why));
    };
    board.on('error', lostWith('board error'));
    io.on('error', lostWith('io error'));
    if (!port) {
      // Over serial the port's own events say more (a disconnect carries its reason).
      io.on('close', lostWith(`${this.description} closed`));
      io.on('disconnect', lostWith(`${this.description} disconnected`));
    }
    port?.on('close', (err?: Error) => lostWith(`port ${this.description} closed`)(err && new Error(`port ${this.description} disconnected: ${err.message}`)));
    port?.on('error', lostWith('serial error'));
    board.once('ready', () => {
      if (this.attempt !== attempt || this.state === 'closed') return;
      if (this.readyTimer) clearTimeout(this.readyTimer);
      this.readyTimer = null;
      this.connections++;
      this.lastError = null;
      this.setState('ready');
      for (const setup of this.setups) this.runSetup(setup, board);
    });
    // Firmata emits 'connect' when its transport opens; this port was open before Firmata.
    if (port) io.emit('connect');
    this.readyTimer = setTimeout(() => {
      this.readyTimer = null;
      lostWith('')(new Error(`no Firmata reply on ${this.description} within ${this.opts.readyTimeoutMs} ms: is StandardFirmata flashed, at ${this.opts.baudRate} baud?`));
    }, this.opts.readyTimeoutMs);
  }

  private runSetup(setup: ComponentSetup, board: five.Board): void {
    try {
      const teardown = setup(board);
      if (teardown) this.teardowns.set(setup, teardown);
    } catch (err) {
      this.emit('error', err);
    }
  }

  private lost(err: Error): void {
    if (this.state === 'closed') return;
    this.setState('lost', err);
    void this.release();
    if (!this.retryTimer) this.retryTimer = setTimeout(() => this.connect(), this.opts.reconnectMs);
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.readyTimer) clearTimeout(this.readyTimer);
    this.retryTimer = this.readyTimer = null;
  }

  /** Tears down the components and the board of the current attempt and closes its port. */
  private async release(): Promise<void> {
    if (this.readyTimer) clearTimeout(this.readyTimer);
    this.readyTimer = null;
    const teardowns = [...this.teardowns.values()];
    this.teardowns.clear();
    for (const teardown of teardowns) safely(teardown);
    const attempt = this.attempt;
    this.attempt = null;
    if (!attempt) return;
    disposeBoard(attempt.board, attempt.io);
    await closePort(attempt.port);
  }
}

/** Takes components out of a board's register when they close before the board does. */
export function unregister(board: five.Board, ...components: object[]): void {
  const register = (board as unknown as { register?: object[] }).register;
  if (!register) return;
  for (const c of components) {
    const at = register.indexOf(c);
    if (at >= 0) register.splice(at, 1);
  }
}

/** Stops a board's components and timers and removes it from johnny-five's cache. */
export function disposeBoard(board: J5Board, io: IoPlugin): void {
  const b = board as J5Board & { register: Array<Record<string, unknown>>; occupied: unknown[]; timer: NodeJS.Timeout | null };
  for (const component of b.register ?? []) {
    for (const stop of ['stop', 'disable']) {
      const fn = component[stop];
      if (typeof fn === 'function') { try { fn.call(component); } catch { /* already stopped */ } }
    }
  }
  if (b.register) b.register.length = 0;
  if (b.occupied) b.occupied.length = 0;
  if (b.timer) clearTimeout(b.timer);
  const cache = boardCache();
  const at = cache.indexOf(board);
  if (at >= 0) cache.splice(at, 1);
  // firmata-io asks again for the version after a while if the board has been silent.
  const versionTimer = (io as { reportVersionTimeoutId?: NodeJS.Timeout }).reportVersionTimeoutId;
  if (versionTimer) clearTimeout(versionTimer);
  board.removeAllListeners();
  io.removeAllListeners();
  // Late errors from a dead io must not become uncaught exceptions.
  io.on('error', () => undefined);
}

function safely(teardown?: () => void): void {
  try { teardown?.(); } catch { /* a component of a dead board may throw; it is gone anyway */ }
}

function closePort(port: SerialStream | null): Promise<void> {
  if (!port || !port.isOpen) return Promise.resolve();
  return new Promise((resolve) => port.close(() => resolve()));
}

/** How many johnny-five boards are alive in its module-level cache (for tests and status). */
export function cachedBoardCount(): number {
  return boardCache().length;
}
