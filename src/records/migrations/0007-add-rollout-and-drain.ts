import { Migration } from '@mikro-orm/migrations';

const STATUSES_BEFORE = `('new', 'starting', 'running', 'rebooting', 'stopping', 'stopped', 'deleting', 'deleted', 'errored', 'hanging')`;
const STATUSES = `('new', 'starting', 'running', 'rebooting', 'draining', 'stopping', 'stopped', 'deleting', 'deleted', 'errored', 'hanging')`;
const STATUS_CHECKS = [
  ['server', 'server_status_check', 'status'],
  ['server_status_change', 'server_status_change_from_status_check', 'from_status'],
  ['server_status_change', 'server_status_change_to_status_check', 'to_status'],
] as const;

/**
 * The lifecycle beyond the seed: the `draining` status (a server the engine lets finish its work before deleting
 * it), the drain's deadline and the claim of the process that runs its hook (`server.drain_deadline`,
 * `server.drain_claimed_at`), the server a rollout's replacement replaces (`server.replaces_server_id`), and the
 * state of a type's rollout that every worker sees (`desired_state.rollout_paused`, `rollout_halted_at`,
 * `rollout_halt_reason`).
 */
export class AddRolloutAndDrain extends Migration {
  override name = '0007-add-rollout-and-drain';

  override up(): void {
    for (const [table, constraint, column] of STATUS_CHECKS) {
      this.addSql(`alter table "${table}" drop constraint "${constraint}";`);
      this.addSql(`alter table "${table}" add constraint "${constraint}" check ("${column}" in ${STATUSES});`);
    }
    this.addSql(`alter table "server" add column "drain_deadline" timestamptz null, add column "drain_claimed_at" timestamptz null, add column "replaces_server_id" bigint null;`);
    this.addSql(
      `alter table "desired_state" add column "rollout_paused" boolean not null default false, add column "rollout_halted_at" timestamptz null, ` +
        `add column "rollout_halt_reason" text null;`,
    );
  }

  override down(): void {
    this.addSql(`alter table "desired_state" drop column "rollout_halt_reason", drop column "rollout_halted_at", drop column "rollout_paused";`);
    this.addSql(`alter table "server" drop column "replaces_server_id", drop column "drain_claimed_at", drop column "drain_deadline";`);
    for (const [table, constraint, column] of STATUS_CHECKS) {
      this.addSql(`alter table "${table}" drop constraint "${constraint}";`);
      this.addSql(`alter table "${table}" add constraint "${constraint}" check ("${column}" in ${STATUSES_BEFORE});`);
    }
  }
}
