import { prepared, type Transaction } from './sql.ts';
import type { ResolvedServerType } from './config.ts';
import type { ServerAddresses } from './entities/server.ts';
import { InvalidServerNameError } from './errors.ts';
import { STATUS_EVENT, type PendingEvent } from './events.ts';
import type { JsonObject } from './json.ts';
import type { ServerError, ServerRecord } from './records.ts';
import type { ChosenOffering } from './offerings.ts';
import { checkedServerName, type ServerNaming } from './server-names.ts';
import type { ServerStatus } from './statuses.ts';

// Writes are hand-written statements in the caller's transaction (see server-rows.ts for why); each writes the
// server rows and their history rows in one statement. Values are never spliced into the SQL text here: they go
// as `?` parameters, and lists of rows as one JSON parameter, so each statement has one text and is prepared (see
// sql.ts).

const RESERVE_SERVER_IDS = prepared(`select nextval(pg_get_serial_sequence('server', 'id')) as id from generate_series(1, ?::int)`);

/** Reserves `count` ids from the `server` table's sequence (numbers a rolled-back change took are skipped). */
async function reserveServerIds(tx: Transaction, count: number): Promise<number[]> {
  const rows = await tx.execute<{ id: string | number }[]>(RESERVE_SERVER_IDS, [count]);
  return rows.map((row) => Number(row.id));
}

/** Inserts new servers (the JSON rows of `id`, `name`, `replaces`) that share the rest, and their history rows. */
const INSERT_NEW_SERVERS = prepared(
  `with new_servers as (
     insert into "server" ("id", "name", "type", "provider", "status", "status_updated_at", "addresses", "template", "template_hash", "meta", "offering", "hourly_price", "replaces_server_id", "created_at", "updated_at")
     select n."id", n."name", ?, ?, 'new', ?::timestamptz, '{}'::jsonb, ?::jsonb, ?, '{}'::jsonb, ?, ?::numeric, n."replaces", ?::timestamptz, ?::timestamptz
       from jsonb_to_recordset(?::jsonb) as n ("id" bigint, "name" text, "replaces" bigint)
     returning "id")
   insert into "server_status_change" ("server_id", "from_status", "to_status", "reason", "changed_at")
   select "id", null, 'new', ?, ?::timestamptz from new_servers`,
);

/**
 * Inserts `count` servers of `type` with status `new` on `offering` at its price, each with its `null → new`
 * history row. Names come from `naming` (its action told its installation); a bad name, or one given twice, throws
 * InvalidServerNameError before anything is inserted (a name another server already has fails on the table's unique
 * constraint). `replaces`, for a rollout's replacements, holds the id of the server each new one replaces (in order;
 * `count` entries). `reserved` holds ids already taken from the sequence for them; the ids missing are taken here. Returns the new servers and their `creating` events.
 */
export async function insertNewServers(
  tx: Transaction,
  type: ResolvedServerType,
  count: number,
  offering: ChosenOffering,
  naming: ServerNaming,
  reason: string,
  now: Date,
  replaces: readonly number[] = [],
  reserved: readonly number[] = [],
): Promise<{ servers: ServerRecord[]; events: PendingEvent[] }> {
  const ids = reserved.slice(0, count);
  if (ids.length < count) ids.push(...(await reserveServerIds(tx, count - ids.length)));
  const names = ids.map((id) => checkedServerName(naming.serverName({ id, serverType: type.name, provider: type.provider, installation: naming.installation })));
  if (new Set(names).size !== names.length) throw new InvalidServerNameError(`the server name action gave the same name to two new servers: ${names.join(', ')}`);
  const rows = JSON.stringify(ids.map((id, index) => ({ id, name: names[index], replaces: replaces[index] ?? null })));
  tx.defer(INSERT_NEW_SERVERS, [type.name, type.provider, now, JSON.stringify(type.template), type.templateHash, offering.name, offering.hourlyPrice, now, now, rows, reason, now]);
  const servers = ids.map((id, index) => newServerRecord(type, id, names[index] as string, offering, replaces[index] ?? null, now));
  return { servers, events: servers.map((server) => ({ name: 'creating', payload: { server, from: null, reason } })) };
}

/**
 * The record of a server of `type` inserted at `now` with `id` and `name` on `offering` at its price (replacing
 * server `replaces`, or null).
 */
export function newServerRecord(type: ResolvedServerType, id: number, name: string, offering: ChosenOffering, replaces: number | null, now: Date): ServerRecord {
  return {
    id,
    name,
    serverType: type.name,
    provider: type.provider,
    status: 'new',
    statusUpdatedAt: now,
    providerId: null,
    addresses: {},
    template: structuredClone(type.template),
    templateHash: type.templateHash,
    meta: {},
    rebootRequestedAt: null,
    rebootSentAt: null,
    offering: offering.name,
    hourlyPrice: offering.hourlyPrice,
    drainDeadline: null,
    drainClaimedAt: null,
    replacesServerId: replaces,
    lastError: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** What a status move may change besides the status. Fields left out keep their stored value. */
export interface ServerChanges {
  providerId?: string;
  addresses?: ServerAddresses;
  meta?: JsonObject;
  rebootRequestedAt?: Date | null;
  rebootSentAt?: Date | null;
  drainDeadline?: Date | null;
  drainClaimedAt?: Date | null;
  lastError?: ServerError;
}

/** `"column" = ?` assignments and their values for `changes` (column names are constants, never input). */
function assignments(changes: ServerChanges, now: Date): { sql: string; params: unknown[] } {
  const set: [string, unknown][] = [['"updated_at" = ?::timestamptz', now]];
  if (changes.providerId !== undefined) set.push(['"provider_id" = ?', changes.providerId]);
  if (changes.addresses !== undefined) set.push(['"addresses" = ?::jsonb', JSON.stringify(changes.addresses)]);
  if (changes.meta !== undefined) set.push(['"meta" = ?::jsonb', JSON.stringify(changes.meta)]);
  if (changes.rebootRequestedAt !== undefined) set.push(['"reboot_requested_at" = ?::timestamptz', changes.rebootRequestedAt]);
  if (changes.rebootSentAt !== undefined) set.push(['"reboot_sent_at" = ?::timestamptz', changes.rebootSentAt]);
  if (changes.drainDeadline !== undefined) set.push(['"drain_deadline" = ?::timestamptz', changes.drainDeadline]);
  if (changes.drainClaimedAt !== undefined) set.push(['"drain_claimed_at" = ?::timestamptz', changes.drainClaimedAt]);
  if (changes.lastError !== undefined) {
    set.push(['"last_error_class" = ?', changes.lastError.class], ['"last_error_message" = ?', changes.lastError.message], ['"last_error_stack" = ?', changes.lastError.stack]);
  }
  return { sql: set.map(([assignment]) => assignment).join(', '), params: set.map(([, value]) => value) };
}

/**
 * Moves servers (read in this transaction under their type's lock) to `to`, applying `changes` too, with one
 * history row each. The caller has checked that each transition is allowed. Returns the servers as written and
 * the events their new status fires, in the given order.
 */
export async function moveServers(
  tx: Transaction,
  servers: readonly ServerRecord[],
  to: ServerStatus,
  reason: string,
  now: Date,
  changes: ServerChanges = {},
): Promise<{ servers: ServerRecord[]; events: PendingEvent[] }> {
  if (servers.length === 0) return { servers: [], events: [] };
  const set = assignments(changes, now);
  // One text per set of changed columns: a handful, each prepared once per connection.
  const statement = prepared(
    `with leaving as (select * from jsonb_to_recordset(?::jsonb) as l ("id" bigint, "from_status" text)),
     moved as (update "server" set "status" = ?, "status_updated_at" = ?::timestamptz, ${set.sql} where "id" = any(array(select "id" from leaving)) returning "id")
     insert into "server_status_change" ("server_id", "from_status", "to_status", "reason", "changed_at")
     select moved."id", leaving."from_status", ?, ?, ?::timestamptz from moved join leaving on leaving."id" = moved."id"`,
  );
  const leaving = JSON.stringify(servers.map((server) => ({ id: server.id, from_status: server.status })));
  tx.defer(statement, [leaving, to, now, ...set.params, to, reason, now]);
  const moved = servers.map((server): ServerRecord => ({ ...server, ...structuredClone(changes), status: to, statusUpdatedAt: now, updatedAt: now }));
  const events = moved.map((server, index) => ({ name: STATUS_EVENT[to], payload: { server, from: servers[index]?.status ?? null, reason } }) as PendingEvent);
  return { servers: moved, events };
}

/** Sets `changes` on servers without moving their status (no history row, no event). */
export function updateServers(tx: Transaction, serverIds: readonly number[], changes: ServerChanges, now: Date): void {
  if (serverIds.length === 0) return;
  const set = assignments(changes, now);
  tx.defer(`update "server" set ${set.sql} where "id" in (?)`, [...set.params, [...serverIds]]);
}
