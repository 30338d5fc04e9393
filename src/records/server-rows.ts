import { prepared, type Transaction } from './sql.ts';
import type { ServerAddresses } from './entities/server.ts';
import { ServerRecordNotFoundError } from './errors.ts';
import type { JsonObject } from './json.ts';
import { lockServerType } from './locks.ts';
import type { ServerRecord } from './records.ts';
import type { ServerStatus } from './statuses.ts';

// The changes read the rows they lock with hand-written SQL (in the ORM's transaction): a change is a handful of
// statements on a few rows, and this keeps the section under the type's lock short. The entities stay the
// description of the tables (a test checks that the migrations produce exactly them).

/** A `server` row as `row_to_json` gives it: snake_case keys, ISO timestamps. */
interface ServerRowJson {
  id: number;
  name: string;
  type: string;
  provider: string;
  status: ServerStatus;
  status_updated_at: string;
  provider_id: string | null;
  addresses: ServerAddresses;
  template: JsonObject;
  template_hash: string;
  meta: JsonObject;
  reboot_requested_at: string | null;
  reboot_sent_at: string | null;
  drain_deadline: string | null;
  drain_claimed_at: string | null;
  replaces_server_id: number | null;
  offering: string | null;
  hourly_price: number | string | null;
  last_error_class: string | null;
  last_error_message: string | null;
  last_error_stack: string | null;
  created_at: string;
  updated_at: string;
}

/** The record of a `server` row read as JSON. */
function fromRowJson(row: ServerRowJson): ServerRecord {
  return {
    id: Number(row.id),
    name: row.name,
    serverType: row.type,
    provider: row.provider,
    status: row.status,
    statusUpdatedAt: new Date(row.status_updated_at),
    providerId: row.provider_id,
    addresses: row.addresses,
    template: row.template,
    templateHash: row.template_hash,
    meta: row.meta,
    rebootRequestedAt: row.reboot_requested_at === null ? null : new Date(row.reboot_requested_at),
    rebootSentAt: row.reboot_sent_at === null ? null : new Date(row.reboot_sent_at),
    drainDeadline: row.drain_deadline === null ? null : new Date(row.drain_deadline),
    drainClaimedAt: row.drain_claimed_at === null ? null : new Date(row.drain_claimed_at),
    replacesServerId: row.replaces_server_id === null ? null : Number(row.replaces_server_id),
    offering: row.offering,
    hourlyPrice: row.hourly_price === null ? null : Number(row.hourly_price),
    lastError: row.last_error_class === null ? null : { class: row.last_error_class, message: row.last_error_message ?? '', stack: row.last_error_stack },
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/**
 * SQL of a scalar subquery: the servers matching `condition` (SQL on alias `s`, a constant of the calling module)
 * as one JSON array, oldest first, or null when none match. `serversFromJson` reads it.
 */
export function serversJsonSql(condition: string): string {
  return `(select json_agg(s order by s."id") from "server" s where ${condition})`;
}

/** The records in a JSON array of `server` rows (see serversJsonSql); null reads as none. */
export function serversFromJson(rows: unknown): ServerRecord[] {
  return ((rows ?? []) as ServerRowJson[]).map(fromRowJson);
}

/**
 * The servers matching `condition` (SQL on alias `s`, with `?` placeholders for `params`), oldest first, read in
 * the caller's transaction. `condition` must be a constant of the calling module, never built from input.
 */
export async function selectServers(tx: Transaction, condition: string, params: unknown[]): Promise<ServerRecord[]> {
  const rows = await tx.execute<{ server: ServerRowJson }[]>(prepared(`select row_to_json(s) as server from "server" s where ${condition} order by s."id"`), params);
  return rows.map((row) => fromRowJson(row.server));
}

/**
 * Takes the lock of `server`'s type in the caller's transaction and reads the server under it; throws
 * ServerRecordNotFoundError when no server has its id.
 */
export async function readServerLocked(tx: Transaction, server: { id: number; serverType: string }): Promise<ServerRecord> {
  lockServerType(tx, server.serverType);
  const [current] = await selectServers(tx, 's."id" = ?', [server.id]);
  if (!current) throw new ServerRecordNotFoundError(`no server has id ${server.id}`);
  return current;
}
