import type { Transaction } from './sql.ts';
import { InvalidInputError, ServerRecordNotFoundError } from './errors.ts';
import { jsonObjectSchema, type JsonObject } from './json.ts';
import type { ServerRecord } from './records.ts';
import { selectServers } from './server-rows.ts';

/** The most a server's meta may hold after a merge: its size as JSON text (as PostgreSQL writes jsonb), in bytes. */
export const MAX_META_BYTES = 65_536;
/** The longest key of a meta object, in characters. */
export const MAX_META_KEY_LENGTH = 255;

const metaSchema = jsonObjectSchema.refine(
  (meta) => Object.keys(meta).every((key) => key.length >= 1 && key.length <= MAX_META_KEY_LENGTH),
  `every key must have 1 to ${MAX_META_KEY_LENGTH} characters`,
);

/**
 * `meta` as meta to merge into a server's (a JSON object, finite numbers only, no NUL character, keys of 1 to
 * MAX_META_KEY_LENGTH characters, at most MAX_META_BYTES as JSON), or InvalidInputError. Run before any database work.
 */
export function parseMeta(meta: unknown): JsonObject {
  const parsed = metaSchema.safeParse(meta);
  if (!parsed.success) throw new InvalidInputError(`invalid meta: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(meta)'}: ${issue.message}`).join('; ')}`);
  const bytes = Buffer.byteLength(JSON.stringify(parsed.data));
  if (bytes > MAX_META_BYTES) throw new InvalidInputError(`invalid meta: ${bytes} bytes as JSON, more than ${MAX_META_BYTES}`);
  return parsed.data;
}

/**
 * Merges `meta` (from parseMeta) into the meta of server `serverId` in the caller's transaction, in one statement:
 * its top-level keys replace those of the same name, the others stay. Returns the record as written. No history
 * row, no event. Throws ServerRecordNotFoundError, or InvalidInputError when the merged meta would be larger than
 * MAX_META_BYTES, writing nothing.
 */
export async function mergeServerMeta(tx: Transaction, serverId: number, meta: JsonObject, now: Date): Promise<ServerRecord> {
  const patch = JSON.stringify(meta);
  const merged = await tx.execute<{ id: string }[]>(
    `update "server" set "meta" = "meta" || ?::jsonb, "updated_at" = ?::timestamptz
      where "id" = ? and octet_length(("meta" || ?::jsonb)::text) <= ? returning "id"`,
    [patch, now, serverId, patch, MAX_META_BYTES],
  );
  const [server] = await selectServers(tx, 's."id" = ?', [serverId]);
  if (!server) throw new ServerRecordNotFoundError(`no server has id ${serverId}`);
  if (merged.length === 0) throw new InvalidInputError(`invalid meta: merged into server ${serverId}'s, it would be more than ${MAX_META_BYTES} bytes as JSON`);
  return server;
}
