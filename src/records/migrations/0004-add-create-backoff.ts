import { Migration } from '@mikro-orm/migrations';

/**
 * Adds the back-off of a server type's creates to its desired-state document: `create_failures`, the creates that
 * hung or errored since a server of the type last reached running, and `creates_paused_until`, before which no
 * server of the type is created (see create-backoff.ts). Every worker reads and writes them under the type's lock.
 */
export class AddCreateBackoff extends Migration {
  override name = '0004-add-create-backoff';

  override up(): void {
    this.addSql(`alter table "desired_state" add column "create_failures" int not null default 0, add column "creates_paused_until" timestamptz null;`);
    this.addSql(`alter table "desired_state" add constraint "desired_state_create_failures_check" check (create_failures >= 0);`);
  }

  override down(): void {
    this.addSql(`alter table "desired_state" drop constraint "desired_state_create_failures_check";`);
    this.addSql(`alter table "desired_state" drop column "creates_paused_until", drop column "create_failures";`);
  }
}
