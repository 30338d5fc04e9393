// Rollouts: under `rollout: replace`, each server of a type whose template differs from the type's newest
// published template is replaced. The replacement is created first, within maxSurge (the type never has more than
// desired + maxSurge servers in the cloud); it counts in the place of the server it replaces only once it runs,
// and then the old one is drained and deleted. Within maxUnavailable, old servers may also be drained before their
// replacement exists (never fewer than desired - maxUnavailable running). A server of the new template that hangs
// or errors halts the rollout: the old servers keep running, the halt and its reason are on the type's
// desired-state document (every worker sees it) and `rolloutHalted` fires; a person resumes it.
//
// One step (planRollout, then advanceRollout) runs in one transaction under the type's lock, at the start of every
// reconcile; a preview computes the same plan without writing it, so it shows the replacements the next reconcile
// creates, named as they will be.
import type { Transaction } from './sql.ts';
import type { ResolvedServerType } from './config.ts';
import { countLimits } from './count-change.ts';
import { createsPaused } from './create-backoff.ts';
import { bumpDesiredVersion, PROVISIONED_SQL, readTypeState, type TypeState } from './desired-state.ts';
import { retireServers } from './drain.ts';
import { noEffects, type Effects } from './effects.ts';
import { UnknownPriceError } from './errors.ts';
import { fitUnderLimits, type CountedLimit } from './limits.ts';
import { lockServerType } from './locks.ts';
import { chooseOffering, type ChosenOffering } from './offerings.ts';
import type { ServerRecord } from './records.ts';
import { DEFAULT_TYPE_SETTINGS } from './registry.ts';
import { rolloutBudget, type RolloutBudget, type RolloutPolicy } from './rollout-policy.ts';
import { splitProvisioned } from './replacements.ts';
import { selectServers } from './server-rows.ts';
import { insertNewServers, newServerRecord } from './server-writes.ts';
import type { ServerNaming } from './server-names.ts';
import { isProvisioned, type ServerStatus } from './statuses.ts';

/** Statuses of servers the cloud has, or is about to have (`new`): what maxSurge bounds. */
export const IN_CLOUD_STATUSES: readonly ServerStatus[] = ['new', 'starting', 'running', 'rebooting', 'draining', 'stopping', 'stopped', 'deleting'];

/** What the `rolloutHalted` event carries: which server of the new template failed, how, and when. */
export interface RolloutHalt {
  serverType: string;
  /** The name of the server whose failure halted the rollout. */
  serverName: string;
  /** What happened, e.g. `demo-5 went hanging while starting: still starting after the 3 s timeout`. */
  reason: string;
  at: Date;
}

/** Where a type's rollout stands. */
export type RolloutState = 'off' | 'done' | 'rolling' | 'paused' | 'halted';

/** A type's rollout as `dynamic-servers rollout <type>` shows it. */
export interface RolloutStatus {
  serverType: string;
  policy: RolloutPolicy;
  /** The counts the policy allows for the desired count; null when the policy is off. */
  budget: RolloutBudget | null;
  /** The hash of the newest published template: servers with another one are old. */
  templateHash: string;
  desiredCount: number;
  /** Servers that count and were made from another template (replaced, or waiting to be). */
  old: number;
  /** Servers that count and were made from the newest template. */
  new: number;
  /** Replacements on their way (created, not running yet): they count once they run. */
  replacing: number;
  /** Servers being drained before they are deleted (by the rollout or anything else). */
  draining: number;
  state: RolloutState;
  /** Paused by a person (`--pause`): no replacement is started until `--resume`. */
  paused: boolean;
  /** Set when a failed server of the new template halted it; cleared by `--resume`. */
  halted: RolloutHalt | null;
}

/** One step of a type's rollout (and the servers its desired count misses), as planned under the type's lock. */
export interface RolloutPlan {
  serverType: string;
  /** Servers the desired count misses (they hung, errored or vanished). */
  missingWanted: number;
  /** How many of them the step creates now: creates are not paused, the limits and maxSurge leave room. */
  missing: number;
  /** The old servers whose replacements the step creates now, oldest first. */
  replacements: ServerRecord[];
  /** Old servers the step drains now, before their replacement exists (within maxUnavailable). */
  drains: ServerRecord[];
  /** The offering the step's new servers are created on: the type's first available one, with its price. */
  offering: ChosenOffering;
}

/** What one step wrote. */
export interface RolloutStep {
  plan: RolloutPlan;
  /** Servers created to make up the desired count. */
  createdServerIds: number[];
  /** Replacements created, each with the id of the server it replaces. */
  replacements: { serverId: number; replaces: number }[];
}

/** The pause and halt of a type's rollout, from its desired-state document. */
interface RolloutControl {
  paused: boolean;
  halted: RolloutHalt | null;
}

async function readRolloutControl(tx: Transaction, serverType: string): Promise<RolloutControl> {
  const rows = await tx.execute<{ rollout_paused: boolean; rollout_halted_at: Date | string | null; rollout_halt_reason: string | null }[]>(
    `select "rollout_paused", "rollout_halted_at", "rollout_halt_reason" from "desired_state" where "server_type" = ?`,
    [serverType],
  );
  const row = rows[0];
  const reason = row?.rollout_halt_reason ?? '';
  return {
    paused: row?.rollout_paused === true,
    // haltRolloutOnFailure writes reasons that begin with the failed server's name.
    halted: row?.rollout_halted_at ? { serverType, serverName: reason.split(' ', 1)[0] ?? '', reason, at: new Date(row.rollout_halted_at) } : null,
  };
}

/** A type's servers as a rollout sees them. */
interface FleetView {
  provisioned: ServerRecord[];
  /** Replacements whose replaced server is still provisioned: they do not count yet. */
  surplus: ServerRecord[];
  /** Provisioned servers but the surplus: what the desired count is compared with. */
  counted: ServerRecord[];
  /** Servers counted and made from another template, without a replacement on its way, oldest first. */
  outdated: ServerRecord[];
  inCloud: number;
  running: number;
  draining: number;
}

function viewOf(rows: readonly ServerRecord[], templateHash: string): FleetView {
  const provisioned = rows.filter((row) => isProvisioned(row.status));
  const { counted, surplus } = splitProvisioned(provisioned);
  const beingReplaced = new Set(surplus.map((row) => row.replacesServerId));
  return {
    provisioned,
    surplus,
    counted,
    outdated: counted.filter((row) => row.templateHash !== templateHash && !beingReplaced.has(row.id)),
    inCloud: rows.filter((row) => IN_CLOUD_STATUSES.includes(row.status)).length,
    running: rows.filter((row) => row.status === 'running').length,
    draining: rows.filter((row) => row.status === 'draining').length,
  };
}

/** The type's servers that are not deleted, oldest first, read in the caller's transaction. */
function liveServers(tx: Transaction, serverType: string): Promise<ServerRecord[]> {
  return selectServers(tx, `s."type" = ? and s."status" <> 'deleted'`, [serverType]);
}

/** The limits `count` reads, or null when a budget needs a price nobody knows (new servers wait for it). */
async function withKnownPrices(count: () => Promise<CountedLimit[]>): Promise<CountedLimit[] | null> {
  try {
    return await count();
  } catch (error) {
    if (error instanceof UnknownPriceError) return null;
    throw error;
  }
}

/**
 * The next step of `type`'s rollout, read in the caller's transaction (the caller holds the type's lock, or is a
 * preview that writes nothing): first the servers the desired count misses, then, under `rollout: replace` and
 * while the rollout is neither paused nor halted, replacements for the oldest servers made from another template,
 * as far as maxSurge (counting every server the cloud has, draining and deleting ones included), the limits and
 * the budgets allow, and drains of old servers without a replacement as far as maxUnavailable allows. New servers
 * go on the type's first available offering. Nothing is created while the type's creates are paused (its
 * back-off), nor while a budget needs a price nobody knows.
 */
export async function planRollout(tx: Transaction, type: ResolvedServerType, now: Date): Promise<RolloutPlan> {
  return (await planStep(tx, type, now)).plan;
}

/** planRollout, with the type's state it read. */
async function planStep(tx: Transaction, type: ResolvedServerType, now: Date): Promise<{ plan: RolloutPlan; state: TypeState }> {
  const state = await readTypeState(tx, type.name);
  const view = viewOf(await liveServers(tx, type.name), type.templateHash);
  const missingWanted = Math.max(0, state.desiredCount - view.counted.length);
  const offering = await chooseOffering(tx, type, now);
  const plan: RolloutPlan = { serverType: type.name, missingWanted, missing: 0, replacements: [], drains: [], offering };
  if (createsPaused(state, now)) return { plan, state };
  const budget = type.rollout.strategy === 'replace' ? rolloutBudget(type.rollout, state.desiredCount) : null;
  let room = budget ? Math.max(0, state.desiredCount + budget.maxSurge - view.inCloud) : Number.POSITIVE_INFINITY;
  const limits = await withKnownPrices(() => countLimits(tx, type, view.provisioned.length, offering));
  const limitRoom = limits ? fitUnderLimits(missingWanted + view.outdated.length, limits, { serverType: type.name, provider: type.provider }).allowed : 0;
  plan.missing = Math.min(missingWanted, room, limitRoom);
  room -= plan.missing;
  if (!budget) return { plan, state };
  const control = await readRolloutControl(tx, type.name);
  if (control.paused || control.halted) return { plan, state };
  const replacing = Math.min(view.outdated.length, room, limitRoom - plan.missing);
  plan.replacements = view.outdated.slice(0, replacing);
  let spare = view.running - (state.desiredCount - budget.maxUnavailable);
  for (const server of view.outdated.slice(replacing)) {
    if (server.status === 'running') {
      if (spare <= 0) continue;
      spare -= 1;
    }
    plan.drains.push(server);
  }
  return { plan, state };
}

/** The first 12 characters of a template hash's digest, for reasons and messages. */
export function shortHash(hash: string): string {
  return hash.replace(/^sha256:/, '').slice(0, 12);
}

/** The history reason of servers created because `state`'s desired count misses them. */
export function missingServersReason(state: TypeState): string {
  return `replaces servers that no longer count (${state.counted} of ${state.desiredCount} desired)`;
}

/** The history reason of a replacement of `old`. */
function replacementReason(old: ServerRecord, type: ResolvedServerType): string {
  return `rollout to template ${shortHash(type.templateHash)}: replaces ${old.name}`;
}

/**
 * Takes the next step of `type`'s rollout (see planRollout) in the caller's transaction, under the type's lock:
 * creates the missing servers, then the replacements (each with the id of the server it replaces), drains the
 * old servers maxUnavailable lets go first, bumps the desired-state version and wakes the workers. Writes nothing
 * when the plan is empty.
 */
export async function advanceRollout(tx: Transaction, type: ResolvedServerType, naming: ServerNaming, now: Date): Promise<{ step: RolloutStep; effects: Effects }> {
  lockServerType(tx, type.name);
  const { plan, state } = await planStep(tx, type, now);
  const effects = noEffects();
  const step: RolloutStep = { plan, createdServerIds: [], replacements: [] };
  if (plan.missing === 0 && plan.replacements.length === 0 && plan.drains.length === 0) return { step, effects };
  if (plan.missing > 0) {
    const { servers, events } = await insertNewServers(tx, type, plan.missing, plan.offering, naming, missingServersReason(state), now);
    step.createdServerIds = servers.map((server) => server.id);
    effects.events.push(...events);
  }
  for (const old of plan.replacements) {
    const { servers, events } = await insertNewServers(tx, type, 1, plan.offering, naming, replacementReason(old, type), now, [old.id]);
    step.replacements.push({ serverId: servers[0]!.id, replaces: old.id });
    effects.events.push(...events);
  }
  if (plan.drains.length > 0) {
    const reason = `rollout to template ${shortHash(type.templateHash)}: drained before its replacement (maxUnavailable)`;
    const retired = await retireServers(tx, type.name, type.drain, plan.drains, reason, now);
    effects.events.push(...retired.effects.events);
  }
  effects.wake.push(type.name);
  bumpDesiredVersion(tx, type.name, state.version + 1, state.desiredCount, now);
  return { step, effects };
}

/**
 * The servers the next reconcile of `type` declares, computed without writing anything: the live rows, the
 * servers the next rollout step creates (status `new`, from the newest template, on the step's offering, named by `naming` with the
 * ids the table's sequence hands out next, in the order the step creates them) and the old servers it drains (as
 * the step leaves them: `stopping` when the type has no drain hook). A server created meanwhile by another change
 * takes an id first, so the names are exact when nothing else changes the type before the reconcile.
 */
export async function plannedServers(tx: Transaction, type: ResolvedServerType, naming: ServerNaming, now: Date): Promise<{ servers: ServerRecord[]; replacements: { create: string; replaces: string }[] }> {
  const plan = await planRollout(tx, type, now);
  const rows = await liveServers(tx, type.name);
  // As retireServers leaves them: draining while a hook drains them, stopping otherwise.
  const drainedStatus: ServerStatus = type.drain.hook === null ? 'stopping' : 'draining';
  const drained = new Set(plan.drains.map((server) => server.id));
  const servers = rows.map((row): ServerRecord => (drained.has(row.id) ? { ...row, status: row.providerId === null ? 'stopping' : drainedStatus } : row));
  const sequence = await tx.execute<{ next: string | number }[]>(`select coalesce(pg_sequence_last_value(pg_get_serial_sequence('server', 'id')::regclass), 0) + 1 as next`);
  let nextId = Number(sequence[0]?.next ?? 1);
  const planned = (replaces: ServerRecord | null): ServerRecord => {
    const id = nextId++;
    const name = naming.serverName({ id, serverType: type.name, provider: type.provider, installation: naming.installation });
    return newServerRecord(type, id, name, plan.offering, replaces?.id ?? null, now);
  };
  for (let index = 0; index < plan.missing; index += 1) servers.push(planned(null));
  const replacements: { create: string; replaces: string }[] = [];
  for (const old of plan.replacements) {
    const server = planned(old);
    servers.push(server);
    replacements.push({ create: server.name, replaces: old.name });
  }
  return { servers, replacements };
}

/**
 * When `replacement` (a rollout's, just recorded running in the caller's transaction under its type's lock)
 * replaces a server that is still provisioned, that server leaves: it is drained and then deleted (see
 * retireServers). Returns what that wrote; nothing for any other server.
 */
export async function retireReplacedServer(tx: Transaction, replacement: ServerRecord, type: ResolvedServerType | undefined, now: Date): Promise<Effects> {
  if (replacement.replacesServerId === null) return noEffects();
  const [old] = await selectServers(tx, 's."id" = ?', [replacement.replacesServerId]);
  if (!old || !isProvisioned(old.status)) return noEffects();
  const drain = type?.drain ?? DEFAULT_TYPE_SETTINGS.drain;
  return (await retireServers(tx, replacement.serverType, drain, [old], `rollout: replaced by ${replacement.name}, which runs`, now)).effects;
}

/**
 * Halts `type`'s rollout when the failure of `server` (recorded in the caller's transaction, under the type's
 * lock, moving it from `from` to `to` for `detail`) is a failed create of the rollout: a replacement, or a server
 * made from the newest template while servers of another one still count. Records the halt and its reason on the
 * type's desired-state document and returns the `rolloutHalted` payload; null when this failure halts nothing (no
 * rollout policy, not a rollout's server, or halted already).
 */
export async function haltRolloutOnFailure(
  tx: Transaction,
  type: ResolvedServerType | undefined,
  server: ServerRecord,
  from: ServerStatus,
  to: ServerStatus,
  detail: string,
  now: Date,
): Promise<RolloutHalt | null> {
  if (!type || type.rollout.strategy !== 'replace') return null;
  const isReplacement = server.replacesServerId !== null;
  if (!isReplacement && server.templateHash !== type.templateHash) return null;
  if (!isReplacement) {
    const others = await tx.execute<{ found: boolean }[]>(
      `select exists (select 1 from "server" where "type" = ? and "status" in (${PROVISIONED_SQL}) and "template_hash" <> ?) as found`,
      [type.name, type.templateHash],
    );
    if (others[0]?.found !== true) return null;
  }
  // readRolloutControl reads the server's name back from the start of the reason.
  const reason = `${server.name} went ${to} while ${from}: ${detail}`.slice(0, 1000);
  const halted = await tx.execute<{ server_type: string }[]>(
    `update "desired_state" set "rollout_halted_at" = ?::timestamptz, "rollout_halt_reason" = ? where "server_type" = ? and "rollout_halted_at" is null returning "server_type"`,
    [now, reason, type.name],
  );
  return halted.length === 1 ? { serverType: type.name, serverName: server.name, reason, at: now } : null;
}

/** Pauses (`paused` true) or resumes `serverType`'s rollout in the caller's transaction; resuming also clears a halt and wakes the workers. */
export async function setRolloutPaused(tx: Transaction, serverType: string, paused: boolean, now: Date): Promise<Effects> {
  lockServerType(tx, serverType);
  await tx.execute(
    `insert into "desired_state" ("server_type", "desired_count", "version", "applied_version", "updated_at", "rollout_paused") values (?, 0, 0, 0, ?::timestamptz, ?) ` +
      `on conflict ("server_type") do update set "rollout_paused" = excluded."rollout_paused"` +
      (paused ? '' : `, "rollout_halted_at" = null, "rollout_halt_reason" = null`),
    [serverType, now, paused],
  );
  return { events: [], wake: paused ? [] : [serverType] };
}

/** `type`'s rollout as it stands, read in one transaction. */
export async function readRolloutStatus(tx: Transaction, type: ResolvedServerType): Promise<RolloutStatus> {
  const state = await readTypeState(tx, type.name);
  const view = viewOf(await liveServers(tx, type.name), type.templateHash);
  const control = await readRolloutControl(tx, type.name);
  const old = view.counted.filter((row) => row.templateHash !== type.templateHash).length;
  const replacing = view.surplus.length;
  const rolloutState: RolloutState =
    type.rollout.strategy === 'off' ? 'off' : old === 0 && replacing === 0 ? 'done' : control.halted ? 'halted' : control.paused ? 'paused' : 'rolling';
  return {
    serverType: type.name,
    policy: type.rollout,
    budget: type.rollout.strategy === 'replace' ? rolloutBudget(type.rollout, state.desiredCount) : null,
    templateHash: type.templateHash,
    desiredCount: state.desiredCount,
    old,
    new: view.counted.length - old,
    replacing,
    draining: view.draining,
    state: rolloutState,
    paused: control.paused,
    halted: control.halted,
  };
}
