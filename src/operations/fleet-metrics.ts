// The worker's Prometheus metrics (prom-client). The fleet's figures are read from the database on every scrape, so
// every worker reports the same fleet (aggregate them with max(), not sum()); the Pulumi update durations are this
// worker's own; the process metrics are prom-client's defaults.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StackUpdate } from '../engine/stack-engine.ts';
import type { EngineRecords } from '../records/engine-records.ts';
import type { FleetFigures } from '../records/fleet-figures.ts';

/** Upper bounds (seconds) of the boot-time histogram's buckets: from ensure to running. */
export const BOOT_SECONDS_BUCKETS = [1, 2.5, 5, 10, 20, 30, 60, 90, 120, 180, 300, 600, 1200, 1800];

/** Upper bounds (seconds) of the Pulumi update histogram's buckets. */
export const UPDATE_SECONDS_BUCKETS = [1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800];

/**
 * prom-client default metrics left out: gauges whose `_total` suffix Prometheus reserves for counters (`promtool
 * check metrics` rejects them); their labelled twins (`nodejs_active_handles{type}`, ...) carry the same counts.
 */
const NON_COUNTERS_NAMED_TOTAL = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Names of the metrics a worker exports about the fleet and its updates (process metrics come on top). */
export const FLEET_METRIC_NAMES = [
  'dynamic_servers_servers',
  'dynamic_servers_desired_servers',
  'dynamic_servers_work_pending',
  'dynamic_servers_transitions_total',
  'dynamic_servers_launch_failures_total',
  'dynamic_servers_boot_seconds',
  'dynamic_servers_pulumi_update_seconds',
] as const;

/**
 * The registry a worker serves on `/metrics`. `render()` reads the fleet's figures from the database and returns
 * the exposition text; `observeUpdate` is the StackEngine's onUpdate (times each `pulumi up` of this worker).
 */
export class FleetMetrics {
  /** The Content-Type of `render()`'s text. */
  readonly contentType: string;
  readonly #records: EngineRecords;
  readonly #registry = new Registry();
  readonly #servers: Gauge;
  readonly #desired: Gauge;
  readonly #pending: Gauge;
  readonly #transitions: Counter;
  readonly #launchFailures: Counter;
  readonly #boots: Histogram;
  readonly #updates: Histogram;
  readonly #updateStarts = new Map<string, number>();
  /** Renders run one after the other: each rewrites the fleet's metrics from a fresh read. */
  #rendering: Promise<unknown> = Promise.resolve();

  constructor(records: EngineRecords) {
    this.#records = records;
    const registers = [this.#registry];
    this.#servers = new Gauge({ name: 'dynamic_servers_servers', help: 'Servers per type and status, from the records.', labelNames: ['server_type', 'status'], registers });
    this.#desired = new Gauge({ name: 'dynamic_servers_desired_servers', help: 'Desired count per type (the last ensure, increase or decrease).', labelNames: ['server_type'], registers });
    this.#pending = new Gauge({
      name: 'dynamic_servers_work_pending',
      help: 'Desired-state versions of the type not applied yet (0 when the workers have caught up).',
      labelNames: ['server_type'],
      registers,
    });
    this.#transitions = new Counter({
      name: 'dynamic_servers_transitions_total',
      help: 'Status transitions recorded per type and status reached, from the status history (pruned records leave it).',
      labelNames: ['server_type', 'to'],
      registers,
    });
    this.#launchFailures = new Counter({
      name: 'dynamic_servers_launch_failures_total',
      help: 'Servers that never ran: errored (reason: the error class) or hanging at boot (reason boot_timeout).',
      labelNames: ['server_type', 'reason'],
      registers,
    });
    this.#boots = new Histogram({
      name: 'dynamic_servers_boot_seconds',
      help: 'Seconds from a server being asked for (ensure, increase) to its first running, from the status history.',
      labelNames: ['server_type'],
      buckets: BOOT_SECONDS_BUCKETS,
      registers,
    });
    this.#updates = new Histogram({
      name: 'dynamic_servers_pulumi_update_seconds',
      help: 'Duration of the pulumi up runs of this worker, per type and result (succeeded or failed).',
      labelNames: ['server_type', 'result'],
      buckets: UPDATE_SECONDS_BUCKETS,
      registers,
    });
    collectDefaultMetrics({ register: this.#registry });
    for (const name of NON_COUNTERS_NAMED_TOTAL) this.#registry.removeSingleMetric(name);
    this.contentType = this.#registry.contentType;
  }

  /** Times the `pulumi up` runs the engine reports (StackEngineOptions.onUpdate); never throws. */
  observeUpdate(update: StackUpdate): void {
    if (update.phase === 'start') {
      this.#updateStarts.set(update.serverType, performance.now());
      return;
    }
    const started = this.#updateStarts.get(update.serverType);
    if (started === undefined) return;
    this.#updateStarts.delete(update.serverType);
    this.#updates.observe({ server_type: update.serverType, result: update.result ?? 'succeeded' }, (performance.now() - started) / 1000);
  }

  /** The exposition text: the fleet read from the database now, this worker's updates and its process metrics. */
  render(): Promise<string> {
    const rendered = this.#rendering.then(async () => {
      this.#apply(await this.#records.fleetFigures(BOOT_SECONDS_BUCKETS));
      return this.#registry.metrics();
    });
    this.#rendering = rendered.catch(() => {});
    return rendered;
  }

  #apply(figures: FleetFigures): void {
    for (const metric of [this.#servers, this.#desired, this.#pending, this.#transitions, this.#launchFailures, this.#boots]) metric.reset();
    for (const row of figures.servers) this.#servers.set({ server_type: row.serverType, status: row.status }, row.servers);
    for (const type of figures.serverTypes) {
      this.#desired.set({ server_type: type }, 0);
      this.#pending.set({ server_type: type }, 0);
    }
    for (const row of figures.desired) {
      this.#desired.set({ server_type: row.serverType }, row.desiredCount);
      this.#pending.set({ server_type: row.serverType }, row.pendingVersions);
    }
    for (const row of figures.transitions) this.#transitions.inc({ server_type: row.serverType, to: row.to }, row.transitions);
    for (const row of figures.launchFailures) this.#launchFailures.inc({ server_type: row.serverType, reason: row.reason }, row.failures);
    for (const type of figures.serverTypes) this.#boots.zero({ server_type: type });
    // prom-client's histogram takes observations only. Each bucket is replayed as `count` observations of its
    // mean, which lies inside the bucket: the bucket counts, the count and the sum come out exactly as read.
    for (const boot of figures.boots) {
      for (const bucket of boot.buckets) {
        for (let index = 0; index < bucket.count; index += 1) this.#boots.observe({ server_type: boot.serverType }, bucket.sum / bucket.count);
      }
    }
  }
}
