import { Migration } from '@mikro-orm/migrations';

const STATUSES = `('new', 'starting', 'running', 'rebooting', 'stopping', 'stopped', 'deleting', 'deleted', 'errored', 'hanging')`;

/** Creates the `server`, `server_status_change` and `desired_state` tables. */
export class CreateServerRecords extends Migration {
  override name = '0001-create-server-records';

  override up(): void {
    this.addSql(
      `create table "server" ("id" bigserial primary key, "name" text not null, "type" text not null, "provider" text not null, "status" text not null, ` +
        `"status_updated_at" timestamptz not null, "provider_id" text null, "addresses" jsonb not null, "template" jsonb not null, "template_hash" text not null, ` +
        `"meta" jsonb not null, "reboot_requested_at" timestamptz null, "last_error_class" text null, "last_error_message" text null, "last_error_stack" text null, ` +
        `"created_at" timestamptz not null, "updated_at" timestamptz not null);`,
    );
    this.addSql(`alter table "server" add constraint "server_name_unique" unique ("name");`);
    this.addSql(`create index "server_type_status_index" on "server" ("type", "status");`);
    this.addSql(`create index "server_provider_status_index" on "server" ("provider", "status");`);
    this.addSql(`alter table "server" add constraint "server_status_check" check ("status" in ${STATUSES});`);

    this.addSql(
      `create table "server_status_change" ("id" bigserial primary key, "server_id" bigint not null, "from_status" text null, "to_status" text not null, ` +
        `"reason" text not null, "changed_at" timestamptz not null);`,
    );
    this.addSql(`create index "server_status_change_server_id_index" on "server_status_change" ("server_id");`);
    this.addSql(`alter table "server_status_change" add constraint "server_status_change_from_status_check" check ("from_status" in ${STATUSES});`);
    this.addSql(`alter table "server_status_change" add constraint "server_status_change_to_status_check" check ("to_status" in ${STATUSES});`);
    this.addSql(
      `alter table "server_status_change" add constraint "server_status_change_server_id_foreign" foreign key ("server_id") references "server" ("id");`,
    );

    this.addSql(
      `create table "desired_state" ("server_type" text not null, "desired_count" int not null, "version" int not null, "applied_version" int not null, ` +
        `"updated_at" timestamptz not null, primary key ("server_type"));`,
    );
    this.addSql(`alter table "desired_state" add constraint "desired_state_desired_count_check" check (desired_count >= 0);`);
    this.addSql(`alter table "desired_state" add constraint "desired_state_applied_version_check" check (applied_version >= 0 and applied_version <= version);`);
  }

  override down(): void {
    this.addSql('drop table "desired_state";');
    this.addSql('drop table "server_status_change";');
    this.addSql('drop table "server";');
  }
}
