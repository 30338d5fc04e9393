import type { Transaction } from './sql.ts';
import { z } from 'zod';
import { clearCreateBackoff } from './create-backoff.ts';
import { noEffects, type Effects } from './effects.ts';
import type { ServerAddresses } from './entities/server.ts';
import { InvalidInputError, InvalidTransitionError, ServerRecordNotFoundError } from './errors.ts';
import { jsonObjectSchema, type JsonObject } from './json.ts';
import { lockServerType } from './locks.ts';
import { resolveServerType } from './registry.ts';
import { retireReplacedServer } from './rollout.ts';
import type { ServerError, ServerRecord } from './records.ts';
import { selectServers } from './server-rows.ts';
import { moveServers, type ServerChanges } from './server-writes.ts';
import { canTransition, SERVER_STATUSES, type ServerStatus } from './statuses.ts';

/** What the job layer reports with a status change. Fields left out keep their stored value. */
export interface TransitionDetails {
  /** Why, in a few words; stored on the history row. */
  reason: string;
  /** The cloud's id of the server. */
  providerId?: string;
  addresses?: ServerAddresses;
  /** Replaces the server's meta. */
  meta?: JsonObject;
  /** Stored as the server's last error (class, message, stack). */
  error?: Error | ServerError;
}

const MAX_TEXT = 16_384;
/** Text PostgreSQL can store: no NUL character. */
const text = () => z.string().refine((value) => !value.includes('\u0000'), 'must not contain the NUL character');
const detailsSchema = z.strictObject({
  reason: text().trim().min(1).max(500),
  providerId: text().min(1).max(255).optional(),
  addresses: z.record(text().max(64), text().max(255)).optional(),
  meta: jsonObjectSchema.optional(),
  error: z.unknown().optional(),
});
const serverErrorSchema = z.strictObject({ class: z.string().min(1).max(255), message: z.string(), stack: z.string().nullable().optional() });

/** Text cut to MAX_TEXT characters, without NUL characters (PostgreSQL text cannot hold them). */
function storable(value: string): string {
  return value.replaceAll('\u0000', '').slice(0, MAX_TEXT);
}

/** The details as they will be stored, or InvalidInputError saying which field is wrong. Run before any database work. */
export function parseTransitionDetails(details: unknown): Omit<TransitionDetails, 'error'> & { error?: ServerError } {
  const parsed = detailsSchema.safeParse(details);
  if (!parsed.success) throw new InvalidInputError(`invalid transition details: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(details)'}: ${issue.message}`).join('; ')}`);
  const { error, ...rest } = parsed.data;
  if (error === undefined) return rest;
  const plain = error instanceof Error ? { class: error.name || error.constructor.name, message: error.message, stack: error.stack } : serverErrorSchema.safeParse(error).data;
  if (!plain) throw new InvalidInputError('invalid transition details: error must be an Error or { class, message, stack? }');
  return { ...rest, error: { class: storable(plain.class).slice(0, 255), message: storable(plain.message), stack: plain.stack ? storable(plain.stack) : null } };
}

/** `serverId` as a record id, or InvalidInputError. */
export function parseServerId(serverId: unknown): number {
  if (typeof serverId === 'number' && Number.isSafeInteger(serverId) && serverId > 0) return serverId;
  throw new InvalidInputError(`a server id is a positive whole number, got ${String(serverId)}`);
}

/** `status` as a ServerStatus, or InvalidInputError. */
export function parseStatus(status: unknown): ServerStatus {
  if ((SERVER_STATUSES as readonly unknown[]).includes(status)) return status as ServerStatus;
  throw new InvalidInputError(`unknown server status ${JSON.stringify(status)}; statuses: ${SERVER_STATUSES.join(', ')}`);
}

/** Transition details after parseTransitionDetails. */
export type ValidTransitionDetails = ReturnType<typeof parseTransitionDetails>;

/**
 * Moves one server to `to` in the caller's transaction, under its type's lock, with its history row and event.
 * A server reaching `running` from `rebooting` has its reboot claim (`rebootSentAt`) cleared. A server reaching
 * `running` with a reboot pending (`rebootRequestedAt`: requested while it was new, starting or rebooting) goes
 * straight on to `rebooting` (second history row, a wake-up), its request cleared: that reboot has begun. A new
 * server reaching `running` ends its type's create back-off, and a rollout's replacement reaching it retires the
 * server it replaces (drained, then deleted). Throws ServerRecordNotFoundError or InvalidTransitionError (nothing written).
 */
export async function transitionServer(
  tx: Transaction,
  server: { id: number; serverType: string },
  to: ServerStatus,
  details: ValidTransitionDetails,
  now: Date,
): Promise<{ server: ServerRecord; effects: Effects }> {
  lockServerType(tx, server.serverType);
  const [current] = await selectServers(tx, 's."id" = ?', [server.id]);
  if (!current) throw new ServerRecordNotFoundError(`no server has id ${server.id}`);
  const from = current.status;
  if (!canTransition(from, to)) throw new InvalidTransitionError(server.id, from, to);

  const { reason, error, ...fields } = details;
  const changes: ServerChanges = error ? { ...fields, lastError: error } : fields;
  const pendingReboot = to === 'running' ? current.rebootRequestedAt : null;
  if (to === 'running' && from === 'rebooting') changes.rebootSentAt = null;

  const effects = noEffects();
  const moved = await moveServers(tx, [current], to, reason, now, changes);
  effects.events.push(...moved.events);
  let [record] = moved.servers as [ServerRecord];
  if (to === 'running' && from === 'starting') {
    clearCreateBackoff(tx, server.serverType);
    // A rollout's replacement that runs takes the place of the server it replaces, which leaves now.
    if (record.replacesServerId !== null) {
      const retired = await retireReplacedServer(tx, record, await resolveServerType(tx, server.serverType), now);
      effects.events.push(...retired.events);
      effects.wake.push(...retired.wake);
    }
  }
  if (pendingReboot) {
    const rebooting = await moveServers(tx, [record], 'rebooting', `reboot requested at ${pendingReboot.toISOString()} while ${from}`, now, {
      rebootRequestedAt: null,
      rebootSentAt: null,
    });
    effects.events.push(...rebooting.events);
    [record] = rebooting.servers as [ServerRecord];
    effects.wake.push(server.serverType);
  }
  return { server: record, effects };
}
