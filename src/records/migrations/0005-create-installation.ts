import { Migration } from '@mikro-orm/migrations';

/**
 * Creates the `installation` table and its one row: the id of this records database's installation, made once
 * here (the migrations run under an advisory lock, one process at a time) and never changed. Every server the
 * installation creates carries it as a label, so installations sharing one cloud project never take each other's
 * servers. Eight lowercase hexadecimal characters.
 */
export class CreateInstallation extends Migration {
  override name = '0005-create-installation';

  override up(): void {
    this.addSql(`create table "installation" ("id" text not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "installation" add constraint "installation_id_check" check (id ~ '^[a-z0-9]{1,63}$');`);
    this.addSql(`insert into "installation" ("id", "created_at") values (substr(md5(random()::text || clock_timestamp()::text), 1, 8), now());`);
  }

  override down(): void {
    this.addSql('drop table "installation";');
  }
}
