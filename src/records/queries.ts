import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { PROVISIONED_SQL } from './desired-state.ts';
import { DesiredState } from './entities/desired-state.ts';
import { Server } from './entities/server.ts';
import { ServerStatusChange } from './entities/server-status-change.ts';
import { InvalidInputError } from './errors.ts';
import { describeValue, nameSchema, providerNameSchema } from './input.ts';
import { toDesiredStateRecord, toServerRecord, toStatusChangeRecord, type DesiredStateRecord, type ServerRecord, type StatusChangeRecord } from './records.ts';
import { SERVER_NAME_PATTERN } from './server-names.ts';
import { PROVISIONED_STATUSES, SERVER_STATUSES, type ServerStatus } from './statuses.ts';

/** A filter for `servers()`. Every field narrows the result; servers come oldest first. */
export interface ServerQuery {
  serverType?: string;
  provider?: string;
  /** One status or any of several. */
  status?: ServerStatus | readonly ServerStatus[];
  /** Only provisioned servers (true) or only the others (false). */
  provisioned?: boolean;
  /** At most this many servers (1 to 10000). */
  limit?: number;
}

const statusSchema = z.enum(SERVER_STATUSES);
const querySchema = z.strictObject({
  serverType: nameSchema.optional(),
  provider: providerNameSchema.optional(),
  status: z.union([statusSchema, z.array(statusSchema).min(1)]).optional(),
  provisioned: z.boolean().optional(),
  limit: z.number().int().min(1).max(10_000).optional(),
});

/** The query as validated, or InvalidInputError saying which field is wrong. Run before any database work. */
export function parseServerQuery(query: unknown): ServerQuery {
  const parsed = querySchema.safeParse(query ?? {});
  if (parsed.success) return parsed.data;
  throw new InvalidInputError(`invalid server query: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(query)'}: ${issue.message}`).join('; ')}`);
}

/** Servers matching a validated query, oldest first. */
export async function findServers(em: EntityManager, query: ServerQuery): Promise<ServerRecord[]> {
  const statuses = query.status === undefined ? [...SERVER_STATUSES] : ([] as ServerStatus[]).concat(query.status);
  const provisioned = new Set<ServerStatus>(PROVISIONED_STATUSES);
  const wanted = query.provisioned === undefined ? statuses : statuses.filter((status) => provisioned.has(status) === query.provisioned);
  const servers = await em.find(
    Server,
    {
      status: { $in: wanted },
      ...(query.serverType === undefined ? {} : { type: query.serverType }),
      ...(query.provider === undefined ? {} : { provider: query.provider }),
    },
    { orderBy: { id: 'asc' }, ...(query.limit === undefined ? {} : { limit: query.limit }) },
  );
  return servers.map(toServerRecord);
}

/** Provisioned servers of one type, or of all types when `serverType` is undefined. */
export async function countProvisioned(em: EntityManager, serverType: string | undefined): Promise<number> {
  const rows = await em.execute<{ provisioned: number }[]>(
    `select count(*)::int as provisioned from "server" where "status" in (${PROVISIONED_SQL})${serverType === undefined ? '' : ' and "type" = ?'}`,
    serverType === undefined ? [] : [serverType],
  );
  return Number(rows[0]?.provisioned ?? 0);
}

/** Servers per status (every status present, 0 when none) of one type, or of all types when `serverType` is undefined. */
export async function countPerStatus(em: EntityManager, serverType: string | undefined): Promise<Record<ServerStatus, number>> {
  const rows = await em.execute<{ status: ServerStatus; servers: number }[]>(
    `select "status", count(*)::int as servers from "server"${serverType === undefined ? '' : ' where "type" = ?'} group by "status"`,
    serverType === undefined ? [] : [serverType],
  );
  const counts = Object.fromEntries(SERVER_STATUSES.map((status) => [status, 0])) as Record<ServerStatus, number>;
  for (const row of rows) counts[row.status] = Number(row.servers);
  return counts;
}

/** One server's record, or null when no server has the id. */
export async function findServer(em: EntityManager, serverId: number): Promise<ServerRecord | null> {
  const server = await em.findOne(Server, { id: serverId });
  return server ? toServerRecord(server) : null;
}

/** One server's status history, oldest first. */
export async function findStatusHistory(em: EntityManager, serverId: number): Promise<StatusChangeRecord[]> {
  const changes = await em.find(ServerStatusChange, { server: serverId }, { orderBy: { id: 'asc' } });
  return changes.map(toStatusChangeRecord);
}

/** The type's desired-state document (the empty one before its first change). */
export async function findDesiredState(em: EntityManager, serverType: string): Promise<DesiredStateRecord> {
  return toDesiredStateRecord(serverType, await em.findOne(DesiredState, { serverType }));
}

/**
 * `value` as a reference to one server: its id (a positive whole number) or its name (a lowercase DNS label);
 * otherwise InvalidInputError. Run before any database work.
 */
export function parseServerReference(value: unknown): number | string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === 'string' && SERVER_NAME_PATTERN.test(value)) return value;
  throw new InvalidInputError(`a server is named by its id (a positive whole number) or its name (a lowercase DNS label), got ${describeValue(value)}`);
}

/**
 * The id and type of the server `reference` names: by id, or by name (a name of digits only that no server has is
 * read as an id, so the command line can take either). Null when there is none.
 */
export async function findServerRef(em: EntityManager, reference: number | string): Promise<{ id: number; serverType: string } | null> {
  const byName = typeof reference === 'string' ? reference : null;
  const byId = typeof reference === 'number' ? reference : /^\d{1,15}$/.test(reference) ? Number(reference) : null;
  const rows = await em.execute<{ id: string | number; type: string }[]>(
    `select "id", "type" from "server" where "name" = ? or "id" = ? order by coalesce("name" = ?, false) desc limit 1`,
    [byName, byId, byName],
  );
  const row = rows[0];
  return row ? { id: Number(row.id), serverType: row.type } : null;
}

/** The id of the installation this database belongs to (the one row its migration made). */
export async function readInstallationId(em: EntityManager): Promise<string> {
  const rows = await em.execute<{ id: string }[]>('select "id" from "installation"');
  if (rows.length !== 1) throw new Error(`the installation table holds ${rows.length} rows; it must hold exactly one`);
  return rows[0]!.id;
}
