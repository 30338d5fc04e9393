import type { EntityManager } from '@mikro-orm/postgresql';
import { InvalidInputError } from './errors.ts';
import { PROVISIONED_STATUSES } from './statuses.ts';

/** SQL list of the provisioned statuses, for `status in (...)`. */
export const PROVISIONED_SQL = PROVISIONED_STATUSES.map((status) => `'${status}'`).join(', ');

/** The type's provisioned count and desired-state version, read in the caller's transaction (after its type lock). */
export async function readTypeState(em: EntityManager, serverType: string): Promise<{ provisioned: number; version: number }> {
  const rows = await em.execute<{ provisioned: number; version: number }[]>(
    `select (select count(*)::int from "server" where "type" = ? and "status" in (${PROVISIONED_SQL})) as provisioned, ` +
      `coalesce((select "version" from "desired_state" where "server_type" = ?), 0) as version`,
    [serverType, serverType],
  );
  const row = rows[0];
  return { provisioned: Number(row?.provisioned ?? 0), version: Number(row?.version ?? 0) };
}

/** Provisioned servers on `provider`, all types together, read in the caller's transaction (after its provider lock). */
export async function countProvisionedOnProvider(em: EntityManager, provider: string): Promise<number> {
  const rows = await em.execute<{ provisioned: number }[]>(
    `select count(*)::int as provisioned from "server" where "provider" = ? and "status" in (${PROVISIONED_SQL})`,
    [provider],
  );
  return Number(rows[0]?.provisioned ?? 0);
}

/** Writes the type's desired-state document as `version` with `desiredCount`, creating it at the first change. */
export async function writeDesiredState(em: EntityManager, serverType: string, desiredCount: number, version: number, now: Date): Promise<void> {
  await em.execute(
    `insert into "desired_state" ("server_type", "desired_count", "version", "applied_version", "updated_at") values (?, ?, ?, 0, ?) ` +
      `on conflict ("server_type") do update set "desired_count" = excluded."desired_count", "version" = excluded."version", "updated_at" = excluded."updated_at"`,
    [serverType, desiredCount, version, now],
  );
}

/** Bumps the type's desired-state document to `version` without changing its count (`countIfNew` when it is created). */
export async function bumpDesiredVersion(em: EntityManager, serverType: string, version: number, countIfNew: number, now: Date): Promise<void> {
  await em.execute(
    `insert into "desired_state" ("server_type", "desired_count", "version", "applied_version", "updated_at") values (?, ?, ?, 0, ?) ` +
      `on conflict ("server_type") do update set "version" = excluded."version", "updated_at" = excluded."updated_at"`,
    [serverType, countIfNew, version, now],
  );
}

/**
 * Records that the work of every version up to `version` is done. The applied version never moves back; a
 * version the document has not reached yet is refused with InvalidInputError.
 */
export async function recordAppliedVersion(em: EntityManager, serverType: string, version: number, now: Date): Promise<void> {
  const rows = await em.execute<{ version: number }[]>('select "version" from "desired_state" where "server_type" = ?', [serverType]);
  const current = Number(rows[0]?.version ?? 0);
  if (version > current) throw new InvalidInputError(`server type "${serverType}" is at desired-state version ${current}; version ${version} cannot be applied`);
  if (version === 0 || rows.length === 0) return;
  await em.execute(
    `update "desired_state" set "applied_version" = greatest("applied_version", ?), "updated_at" = ? where "server_type" = ? and "applied_version" < ?`,
    [version, now, serverType, version],
  );
}
