import { Migration } from '@mikro-orm/migrations';

/** Creates the registry of published configuration: `server_type_config` and `provider_config`. */
export class CreateConfigRegistry extends Migration {
  override name = '0003-create-config-registry';

  override up(): void {
    this.addSql(
      `create table "server_type_config" ("id" serial primary key, "server_type" text not null, "version" int not null, "provider" text not null, ` +
        `"template" jsonb not null, "template_hash" text not null, "settings" jsonb not null, "content_hash" text not null, "source" text not null, ` +
        `"published_at" timestamptz not null, "retired_at" timestamptz null);`,
    );
    this.addSql(`alter table "server_type_config" add constraint "server_type_config_version_unique" unique ("server_type", "version");`);
    this.addSql(
      `create table "provider_config" ("id" serial primary key, "provider" text not null, "version" int not null, "settings" jsonb not null, ` +
        `"content_hash" text not null, "published_at" timestamptz not null, "retired_at" timestamptz null);`,
    );
    this.addSql(`alter table "provider_config" add constraint "provider_config_version_unique" unique ("provider", "version");`);
  }

  override down(): void {
    this.addSql('drop table "provider_config";');
    this.addSql('drop table "server_type_config";');
  }
}
