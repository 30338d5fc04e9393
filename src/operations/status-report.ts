// What the status page shows, as one JSON document read from the database: per type its desired count and its
// servers by status, the counts over a window of time from the status history, and the latest errors and hangs.
import type { SecretScrubber } from '../logging/scrubber.ts';
import type { EngineRecords } from '../records/engine-records.ts';
import { OperationsRequestError } from './errors.ts';
import type { ServerStatus } from '../records/statuses.ts';

/** The groups of statuses the page counts and charts, and the statuses in each. */
export const STATUS_GROUPS = {
  running: ['running'],
  starting: ['new', 'starting'],
  rebooting: ['rebooting'],
  stopping: ['draining', 'stopping', 'stopped', 'deleting'],
  errored: ['errored'],
  hanging: ['hanging'],
} as const satisfies Record<string, readonly ServerStatus[]>;

/** A group of STATUS_GROUPS. */
export type StatusGroup = keyof typeof STATUS_GROUPS;

const GROUP_NAMES = Object.keys(STATUS_GROUPS) as StatusGroup[];

/** One type's line of the status table. */
export interface TypeStatus extends Record<StatusGroup, number> {
  serverType: string;
  desired: number;
  /** new, starting, running and rebooting: what ensure counts. */
  provisioned: number;
  /** Desired-state versions the workers have not applied yet. */
  pendingVersions: number;
}

/** The status page's document. */
export interface StatusReport {
  generatedAt: string;
  windowMinutes: number;
  types: TypeStatus[];
  /** The moments of the chart (ISO 8601) and, per type and group, the servers at each moment. */
  timeline: { at: string[]; series: Record<string, Record<StatusGroup, number[]>> };
  /** The latest servers that went errored or hanging, newest first; messages scrubbed of secrets. */
  troubles: { server: string; serverType: string; status: ServerStatus; from: ServerStatus | null; reason: string; at: string; error: { class: string; message: string } | null }[];
}

/** The window a report may cover, in minutes (default DEFAULT_WINDOW_MINUTES). */
export const WINDOW_MINUTES = { min: 5, max: 7 * 24 * 60 } as const;
/** Three hours. */
export const DEFAULT_WINDOW_MINUTES = 180;
/** Moments of a chart, whatever its window. */
const CHART_POINTS = 180;
const TROUBLES = 20;

/** The window asked for by `?minutes=` (OperationsRequestError when it is not a number of minutes in WINDOW_MINUTES). */
export function parseWindowMinutes(query: URLSearchParams): number {
  const raw = query.get('minutes');
  if (raw === null || raw === '') return DEFAULT_WINDOW_MINUTES;
  const minutes = Number(raw);
  if (!Number.isFinite(minutes) || minutes < WINDOW_MINUTES.min || minutes > WINDOW_MINUTES.max) {
    throw new OperationsRequestError(`minutes must be a number from ${WINDOW_MINUTES.min} to ${WINDOW_MINUTES.max}, got ${JSON.stringify(raw)}`);
  }
  return minutes;
}

/** Reads the StatusReport of the last `windowMinutes` from `records`, scrubbing error texts with `scrubber`. */
export async function readStatusReport(records: EngineRecords, scrubber: SecretScrubber, windowMinutes: number, now = new Date()): Promise<StatusReport> {
  const figures = await records.fleetFigures([]);
  const types = figures.serverTypes.map((serverType): TypeStatus => {
    const count = (statuses: readonly ServerStatus[]) =>
      figures.servers.filter((row) => row.serverType === serverType && statuses.includes(row.status)).reduce((sum, row) => sum + row.servers, 0);
    const desired = figures.desired.find((row) => row.serverType === serverType);
    const groups = Object.fromEntries(GROUP_NAMES.map((group) => [group, count(STATUS_GROUPS[group])])) as Record<StatusGroup, number>;
    return {
      serverType,
      desired: desired?.desiredCount ?? 0,
      provisioned: count(['new', 'starting', 'running', 'rebooting']),
      pendingVersions: desired?.pendingVersions ?? 0,
      ...groups,
    };
  });

  const stepSeconds = (windowMinutes * 60) / CHART_POINTS;
  const from = new Date(now.getTime() - windowMinutes * 60_000);
  const points = await records.statusTimeline(from, stepSeconds, CHART_POINTS + 1);
  const moments = Array.from({ length: CHART_POINTS + 1 }, (_, index) => new Date(from.getTime() + index * stepSeconds * 1000));
  const series: StatusReport['timeline']['series'] = {};
  for (const serverType of figures.serverTypes) {
    series[serverType] = Object.fromEntries(GROUP_NAMES.map((group) => [group, moments.map(() => 0)])) as Record<StatusGroup, number[]>;
  }
  for (const point of points) {
    const index = Math.round((point.at.getTime() - from.getTime()) / 1000 / stepSeconds);
    const group = GROUP_NAMES.find((name) => (STATUS_GROUPS[name] as readonly ServerStatus[]).includes(point.status));
    const line = group && series[point.serverType]?.[group];
    if (line && index >= 0 && index < line.length) line[index]! += point.servers;
  }

  const troubles = (await records.recentTroubles(TROUBLES)).map((trouble) => ({
    server: trouble.name,
    serverType: trouble.serverType,
    status: trouble.status,
    from: trouble.from,
    reason: scrubber.scrub(trouble.reason),
    at: trouble.at.toISOString(),
    error: trouble.error ? { class: trouble.error.class, message: scrubber.scrub(trouble.error.message) } : null,
  }));
  return { generatedAt: now.toISOString(), windowMinutes, types, timeline: { at: moments.map((moment) => moment.toISOString()), series }, troubles };
}
