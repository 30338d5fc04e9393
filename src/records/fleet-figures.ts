// Reads for the people who run the fleet (metrics, the status page): counts per type and status, desired counts,
// transitions, launch failures and boot times from the status history, the counts over time, the latest errors and
// hangs. Each is a few aggregate statements, cheap enough to run on every scrape and every page refresh, and the same
// from every process because they read the database, not anything a process remembers.
import type { Sql } from './sql.ts';
import { InvalidInputError } from './errors.ts';
import { listServerTypes } from './registry.ts';
import { SERVER_STATUSES, type ServerStatus } from './statuses.ts';

/** The boot times of one type's servers, per bucket of the bounds given to readFleetFigures. */
export interface BootHistogram {
  serverType: string;
  /**
   * bounds.length + 1 buckets, not cumulative: bucket i holds the servers with bounds[i-1] < seconds <= bounds[i]
   * (the first from 0, the last above the highest bound), with how many and their seconds added up.
   */
  buckets: { count: number; sum: number }[];
}

/** The fleet as the records say, at one moment. */
export interface FleetFigures {
  /** Every type in force (published, not retired), and every other type that still has server rows. Sorted. */
  serverTypes: string[];
  /** Servers per type and status; every pair of `serverTypes` and SERVER_STATUSES is present (0 when none). */
  servers: { serverType: string; status: ServerStatus; servers: number }[];
  /** Per type with a desired state: its desired count and how many desired-state versions are not applied yet. */
  desired: { serverType: string; desiredCount: number; pendingVersions: number }[];
  /** Status history rows per type and status reached (the first row of a server is its transition to `new`). */
  transitions: { serverType: string; to: ServerStatus; transitions: number }[];
  /**
   * Servers that never ran: transitions from `new` or `starting` to `errored` (reason: the server's error class,
   * e.g. `QuotaExceededError`) or to `hanging` (reason `boot_timeout`).
   */
  launchFailures: { serverType: string; reason: string; failures: number }[];
  /** Seconds from a server's record being created (its ensure or increase) to its first `running`, per type. */
  boots: BootHistogram[];
}

/** Servers of one type in one status at one moment of a timeline. */
export interface TimelinePoint {
  at: Date;
  serverType: string;
  status: ServerStatus;
  servers: number;
}

/** A server that went `errored` or `hanging`, with its last recorded error. */
export interface ServerTrouble {
  serverId: number;
  name: string;
  serverType: string;
  /** `errored` or `hanging`. */
  status: ServerStatus;
  from: ServerStatus | null;
  reason: string;
  at: Date;
  /** The server's last error, when one was recorded (its class and message). */
  error: { class: string; message: string } | null;
}

const MAX_TIMELINE_POINTS = 2000;

function parseBounds(bounds: readonly number[]): number[] {
  const valid = Array.isArray(bounds) && bounds.length <= 50 && bounds.every((bound, index) => typeof bound === 'number' && Number.isFinite(bound) && bound > 0 && (index === 0 || bound > bounds[index - 1]!));
  if (!valid) throw new InvalidInputError(`histogram bounds are up to 50 increasing positive numbers, got ${JSON.stringify(bounds)}`);
  return [...bounds];
}

/** Reads FleetFigures; `bootBounds` are the upper bounds (seconds, increasing) of the boot-time histogram's buckets. */
export async function readFleetFigures(db: Sql, bootBounds: readonly number[]): Promise<FleetFigures> {
  const bounds = parseBounds(bootBounds);
  const inForce = (await listServerTypes(db)).map((type) => type.name);
  const counted = await db.execute<{ type: string; status: ServerStatus; servers: number }[]>(
    'select "type", "status", count(*)::int as servers from "server" group by "type", "status"',
  );
  const serverTypes = [...new Set([...inForce, ...counted.map((row) => row.type)])].sort();
  const servers = serverTypes.flatMap((serverType) =>
    SERVER_STATUSES.map((status) => ({ serverType, status, servers: Number(counted.find((row) => row.type === serverType && row.status === status)?.servers ?? 0) })),
  );
  const desired = await db.execute<{ server_type: string; desired_count: number; pending: number }[]>(
    'select "server_type", "desired_count", ("version" - "applied_version")::int as pending from "desired_state" order by "server_type"',
  );
  const transitions = await db.execute<{ type: string; to_status: ServerStatus; transitions: number }[]>(
    'select s."type", c."to_status", count(*)::int as transitions from "server_status_change" c join "server" s on s."id" = c."server_id" ' +
      'group by s."type", c."to_status" order by s."type", c."to_status"',
  );
  const failures = await db.execute<{ type: string; reason: string; failures: number }[]>(
    `select s."type", case when c."to_status" = 'hanging' then 'boot_timeout' else coalesce(s."last_error_class", 'unknown') end as reason, ` +
      `count(*)::int as failures from "server_status_change" c join "server" s on s."id" = c."server_id" ` +
      `where c."from_status" in ('new', 'starting') and c."to_status" in ('errored', 'hanging') group by 1, 2 order by 1, 2`,
  );
  const placeholders = bounds.map(() => '?').join(', ');
  const boots = await db.execute<{ type: string; bucket: number; count: number; sum: number }[]>(
    `with boots as (select s."type", extract(epoch from (min(c."changed_at") - s."created_at"))::float8 as "seconds" ` +
      `from "server" s join "server_status_change" c on c."server_id" = s."id" and c."to_status" = 'running' group by s."id", s."type", s."created_at"), ` +
      `placed as (select "type", "seconds", (select count(*) from unnest(array[${placeholders}]::float8[]) as b("bound") where b."bound" < boots."seconds")::int as "bucket" from boots) ` +
      `select "type", "bucket", count(*)::int as "count", sum("seconds")::float8 as "sum" from placed group by "type", "bucket" order by "type", "bucket"`,
    bounds,
  );
  const bootTypes = [...new Set(boots.map((row) => row.type))];
  return {
    serverTypes,
    servers,
    desired: desired.map((row) => ({ serverType: row.server_type, desiredCount: Number(row.desired_count), pendingVersions: Number(row.pending) })),
    transitions: transitions.map((row) => ({ serverType: row.type, to: row.to_status, transitions: Number(row.transitions) })),
    launchFailures: failures.map((row) => ({ serverType: row.type, reason: row.reason, failures: Number(row.failures) })),
    boots: bootTypes.map((serverType) => ({
      serverType,
      buckets: [...bounds, Infinity].map((_, index) => {
        const row = boots.find((candidate) => candidate.type === serverType && Number(candidate.bucket) === index);
        return { count: Number(row?.count ?? 0), sum: Number(row?.sum ?? 0) };
      }),
    })),
  };
}

/**
 * How many servers of each type were in each status (deleted left out) at `moments` moments, `from` and then every
 * `stepSeconds`, from the status history: a server is in the status of its latest history row at or before the
 * moment. Moments with no server of a type and status have no point. InvalidInputError for a bad date or step, or
 * more than 2000 moments.
 */
export async function readStatusTimeline(db: Sql, from: Date, stepSeconds: number, moments: number): Promise<TimelinePoint[]> {
  const valid = from instanceof Date && !Number.isNaN(from.getTime()) && Number.isFinite(stepSeconds) && stepSeconds > 0 && Number.isSafeInteger(moments) && moments >= 1;
  if (!valid) throw new InvalidInputError('a status timeline needs a date, a positive step and a whole number of moments');
  if (moments > MAX_TIMELINE_POINTS) throw new InvalidInputError(`a status timeline has at most ${MAX_TIMELINE_POINTS} moments`);
  const rows = await db.execute<{ at: Date | string; type: string; status: ServerStatus; servers: number }[]>(
    `with spans as (select c."server_id", c."to_status" as "status", c."changed_at" as "since", ` +
      `lead(c."changed_at") over (partition by c."server_id" order by c."changed_at", c."id") as "until" from "server_status_change" c), ` +
      `moments as (select ?::timestamptz + make_interval(secs => "index" * ?::float8) as "at" from generate_series(0, ? - 1) as "index") ` +
      `select m."at", s."type", sp."status", count(*)::int as servers from moments m ` +
      `join spans sp on sp."since" <= m."at" and (sp."until" is null or sp."until" > m."at") and sp."status" <> 'deleted' ` +
      `join "server" s on s."id" = sp."server_id" group by m."at", s."type", sp."status" order by m."at", s."type", sp."status"`,
    [from, stepSeconds, moments],
  );
  return rows.map((row) => ({ at: new Date(row.at), serverType: row.type, status: row.status, servers: Number(row.servers) }));
}

/** The latest `limit` (1 to 500) transitions to `errored` or `hanging`, newest first, with each server's last error. */
export async function readRecentTroubles(db: Sql, limit: number): Promise<ServerTrouble[]> {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 500) throw new InvalidInputError(`limit is a whole number from 1 to 500, got ${String(limit)}`);
  const rows = await db.execute<
    { server_id: string; name: string; type: string; to_status: ServerStatus; from_status: ServerStatus | null; reason: string; changed_at: Date | string; last_error_class: string | null; last_error_message: string | null }[]
  >(
    `select c."server_id", s."name", s."type", c."to_status", c."from_status", c."reason", c."changed_at", s."last_error_class", s."last_error_message" ` +
      `from "server_status_change" c join "server" s on s."id" = c."server_id" where c."to_status" in ('errored', 'hanging') ` +
      `order by c."changed_at" desc, c."id" desc limit ?`,
    [limit],
  );
  return rows.map((row) => ({
    serverId: Number(row.server_id),
    name: row.name,
    serverType: row.type,
    status: row.to_status,
    from: row.from_status,
    reason: row.reason,
    at: new Date(row.changed_at),
    error: row.last_error_class ? { class: row.last_error_class, message: row.last_error_message ?? '' } : null,
  }));
}
