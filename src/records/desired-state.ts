import { prepared, type Row, type Transaction } from './sql.ts';
import { InvalidInputError } from './errors.ts';
import { PROVISIONED_STATUSES } from './statuses.ts';

/** SQL list of the provisioned statuses, for `status in (...)`. */
export const PROVISIONED_SQL = PROVISIONED_STATUSES.map((status) => `'${status}'`).join(', ');

/**
 * SQL condition (on alias `s`) of a rollout's replacement that does not count yet: the server it replaces is still
 * provisioned, and counts in its place until the replacement runs (see rollout.ts).
 */
export const SURPLUS_REPLACEMENT_SQL = `exists (select 1 from "server" o where o."id" = s."replaces_server_id" and o."status" in (${PROVISIONED_SQL}))`;

/** A server type's counts and desired-state document as a change reads them under the type's lock. */
export interface TypeState {
  /** Its provisioned servers (PROVISIONED_STATUSES), a rollout's replacements in flight included: what limits count. */
  provisioned: number;
  /**
   * Its servers that count towards the desired count: the provisioned ones but a rollout's replacements in flight
   * (each counts once the server it replaces leaves).
   */
  counted: number;
  /** How many should count: set by every change, replacements are created up to it (0 before the first change). */
  desiredCount: number;
  version: number;
  /** Creates that hung or errored since one of its servers last reached running. */
  createFailures: number;
  /** No server of the type is created before this time; null when creates are not paused. */
  createsPausedUntil: Date | null;
}

/**
 * The query of a server type's counts and desired-state document (its parameters: the type's name, twice), to run
 * under the type's lock: one row, which `typeState` reads.
 */
export const TYPE_STATE_SQL =
  `select c."provisioned", c."surplus", d."desired_count", d."version", d."create_failures", d."creates_paused_until" ` +
  `from (select count(*)::int as provisioned, count(*) filter (where ${SURPLUS_REPLACEMENT_SQL})::int as surplus ` +
  `from "server" s where s."type" = ? and s."status" in (${PROVISIONED_SQL})) as c ` +
  `left join "desired_state" d on d."server_type" = ?`;

const READ_TYPE_STATE = prepared(TYPE_STATE_SQL);

/** The TypeState in the row of TYPE_STATE_SQL (or of a query that selects its columns). */
export function typeState(rows: readonly Row[]): TypeState {
  const row = rows[0] as
    | { provisioned: number; surplus: number; desired_count: number | null; version: number | null; create_failures: number | null; creates_paused_until: Date | string | null }
    | undefined;
  return {
    provisioned: Number(row?.provisioned ?? 0),
    counted: Number(row?.provisioned ?? 0) - Number(row?.surplus ?? 0),
    desiredCount: Number(row?.desired_count ?? 0),
    version: Number(row?.version ?? 0),
    createFailures: Number(row?.create_failures ?? 0),
    createsPausedUntil: row?.creates_paused_until ? new Date(row.creates_paused_until) : null,
  };
}

/** The type's provisioned count and desired-state document, read in the caller's transaction (after its type lock). */
export async function readTypeState(tx: Transaction, serverType: string): Promise<TypeState> {
  return typeState(await tx.execute(READ_TYPE_STATE, [serverType, serverType]));
}

/** Provisioned servers on `provider`, all types together, read in the caller's transaction (after its provider lock). */
export async function countProvisionedOnProvider(tx: Transaction, provider: string): Promise<number> {
  const rows = await tx.execute<{ provisioned: number }[]>(
    `select count(*)::int as provisioned from "server" where "provider" = ? and "status" in (${PROVISIONED_SQL})`,
    [provider],
  );
  return Number(rows[0]?.provisioned ?? 0);
}

const WRITE_DESIRED_STATE = prepared(
  `insert into "desired_state" ("server_type", "desired_count", "version", "applied_version", "updated_at") values (?, ?, ?, 0, ?) ` +
    `on conflict ("server_type") do update set "desired_count" = excluded."desired_count", "version" = excluded."version", "updated_at" = excluded."updated_at"`,
);

const BUMP_DESIRED_VERSION = prepared(
  `insert into "desired_state" ("server_type", "desired_count", "version", "applied_version", "updated_at") values (?, ?, ?, 0, ?) ` +
    `on conflict ("server_type") do update set "version" = excluded."version", "updated_at" = excluded."updated_at"`,
);

/** Writes the type's desired-state document as `version` with `desiredCount`, creating it at the first change (back-off untouched). */
export function writeDesiredState(tx: Transaction, serverType: string, desiredCount: number, version: number, now: Date): void {
  tx.defer(WRITE_DESIRED_STATE, [serverType, desiredCount, version, now]);
}

/** Bumps the type's desired-state document to `version` without changing its count (`countIfNew` when it is created). */
export function bumpDesiredVersion(tx: Transaction, serverType: string, version: number, countIfNew: number, now: Date): void {
  tx.defer(BUMP_DESIRED_VERSION, [serverType, countIfNew, version, now]);
}

/**
 * Records that the work of every version up to `version` is done. The applied version never moves back; a
 * version the document has not reached yet is refused with InvalidInputError.
 */
export async function recordAppliedVersion(tx: Transaction, serverType: string, version: number, now: Date): Promise<void> {
  const rows = await tx.execute<{ version: number }[]>('select "version" from "desired_state" where "server_type" = ?', [serverType]);
  const current = Number(rows[0]?.version ?? 0);
  if (version > current) throw new InvalidInputError(`server type "${serverType}" is at desired-state version ${current}; version ${version} cannot be applied`);
  if (version === 0 || rows.length === 0) return;
  await tx.execute(
    `update "desired_state" set "applied_version" = greatest("applied_version", ?), "updated_at" = ? where "server_type" = ? and "applied_version" < ?`,
    [version, now, serverType, version],
  );
}
