// Live per-server progress for long commands: in a terminal, one line per server redrawn in place as its status
// changes; elsewhere (CI logs, pipes), one timestamped line per change.
import { createLogUpdate } from 'log-update';
import type { Writable } from 'node:stream';
import type { DynamicServers } from '../records/dynamic-servers.ts';
import { STATUS_EVENT, type ServerEvent } from '../records/events.ts';
import type { CreateBackoff } from '../records/create-backoff.ts';
import type { LimitHit } from '../records/limits.ts';
import type { ServerRecord } from '../records/records.ts';
import { SERVER_STATUSES, type ServerStatus } from '../records/statuses.ts';

/** Where progress goes: a stream, live when it is a TTY. */
export type ProgressStream = Writable & { isTTY?: boolean; columns?: number };

/** How a server looks on its progress line. */
interface ServerLine {
  name: string;
  status: ServerStatus;
  since: number;
  reason: string;
}

const REDRAW_MS = 200;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Shows what happens to the servers of `serverTypes` while it is open. `step(text)` adds a line that stays (in a
 * terminal above the live lines). Events come from the records' listeners, so changes made by worker processes
 * show as well as this process's. `stop()` draws the final state and detaches; call it before writing elsewhere.
 */
export class ServerProgress {
  readonly #out: ProgressStream;
  readonly #serverTypes: ReadonlySet<string>;
  readonly #servers = new Map<number, ServerLine>();
  readonly #unsubscribe: (() => void)[] = [];
  readonly #live: ReturnType<typeof createLogUpdate> | null;
  readonly #timer: NodeJS.Timeout | null;

  constructor(records: DynamicServers, options: { serverTypes: readonly string[]; out: ProgressStream; live?: boolean }) {
    this.#out = options.out;
    this.#serverTypes = new Set(options.serverTypes);
    const live = options.live ?? (options.out.isTTY === true && (options.out.columns ?? 0) > 0);
    this.#live = live ? createLogUpdate(options.out as NodeJS.WriteStream, { showCursor: true }) : null;
    this.#timer = live ? setInterval(() => this.#draw(), REDRAW_MS) : null;
    for (const status of SERVER_STATUSES) {
      this.#unsubscribe.push(records.on(STATUS_EVENT[status], (event) => this.#changed(event)));
    }
    this.#unsubscribe.push(records.on('limitHit', (hit) => this.#limitHit(hit)));
    this.#unsubscribe.push(records.on('backingOff', (backoff) => this.#backingOff(backoff)));
    this.#unsubscribe.push(records.on('rolloutHalted', (halt) => this.#serverTypes.has(halt.serverType) && this.step(`${halt.serverType}: rollout halted: ${halt.reason}`)));
  }

  /** Starts showing servers that exist already (e.g. the ones a command found running). */
  track(servers: readonly ServerRecord[]): void {
    for (const server of servers) {
      if (this.#serverTypes.has(server.serverType)) this.#servers.set(server.id, { name: server.name, status: server.status, since: server.statusUpdatedAt.getTime(), reason: '' });
    }
    this.#draw();
  }

  /**
   * True when every one of `servers` of a watched type shows its current status here: the events that reached the
   * database have reached this display too (those of other processes arrive a moment after their commit).
   */
  reflects(servers: readonly ServerRecord[]): boolean {
    return servers.every((server) => !this.#serverTypes.has(server.serverType) || this.#servers.get(server.id)?.status === server.status);
  }

  /** A line that stays: in a terminal above the live lines, elsewhere timestamped. */
  step(text: string): void {
    if (!this.#live) {
      this.#out.write(`${new Date().toISOString()} ${text}\n`);
      return;
    }
    this.#live.persist(text);
  }

  /** Draws the last state once more and stops listening; the live lines stay on screen. */
  stop(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    if (this.#timer) clearInterval(this.#timer);
    if (this.#live) {
      this.#draw();
      this.#live.done();
    }
  }

  #changed(event: ServerEvent): void {
    const { server } = event;
    if (!this.#serverTypes.has(server.serverType)) return;
    this.#servers.set(server.id, { name: server.name, status: server.status, since: server.statusUpdatedAt.getTime(), reason: event.reason });
    if (this.#live) {
      this.#draw();
      return;
    }
    const address = server.addresses.ipv4 ? ` ${server.addresses.ipv4}` : '';
    this.#out.write(`${server.statusUpdatedAt.toISOString()} ${server.name}: ${event.from ?? '-'} -> ${server.status}${address} (${event.reason})\n`);
  }

  #limitHit(hit: LimitHit): void {
    if (this.#serverTypes.has(hit.serverType)) this.step(`${hit.serverType}: ${hit.scope} limit of ${hit.maximum} reached; ${hit.allowed} of ${hit.requested} new servers allowed`);
  }

  #backingOff(backoff: CreateBackoff): void {
    if (this.#serverTypes.has(backoff.serverType)) {
      this.step(`${backoff.serverType}: ${backoff.failures} creates failed in a row; new servers wait ${backoff.pauseSeconds} s (until ${backoff.until.toISOString()})`);
    }
  }

  #draw(): void {
    if (!this.#live) return;
    const now = Date.now();
    const rows = [...this.#servers.values()];
    const nameWidth = Math.max(4, ...rows.map((row) => row.name.length));
    const lines = rows.map((row) => {
      const settled = row.status === 'running' || row.status === 'deleted';
      const mark = settled ? (row.status === 'running' ? '●' : '○') : row.status === 'errored' || row.status === 'hanging' ? '✖' : '…';
      const elapsed = settled ? '' : ` ${seconds(now - row.since)}`;
      return `  ${mark} ${row.name.padEnd(nameWidth)}  ${row.status.padEnd(9)}${elapsed}${row.reason ? `  ${row.reason}` : ''}`;
    });
    this.#live(lines.join('\n'));
  }
}
