import { Migration } from '@mikro-orm/migrations';

/**
 * Offerings and prices. Each server records the offering it runs on (`offering`, e.g. `small@local-2`) and the hourly
 * price it was created at (`hourly_price`, null when none was known). `unavailable_offering` holds the offerings a
 * cloud refused for capacity, skipped by every worker until `until`; `offering_price` the hourly prices the workers
 * read from the clouds that publish them.
 */
export class AddOfferingsAndPrices extends Migration {
  override name = '0006-add-offerings-and-prices';

  override up(): void {
    this.addSql(`alter table "server" add column "offering" text null, add column "hourly_price" numeric(20,10) null;`);
    this.addSql(`alter table "server" add constraint "server_hourly_price_check" check (hourly_price >= 0);`);
    this.addSql(
      `create table "unavailable_offering" ("provider" text not null, "offering" text not null, "until" timestamptz not null, "reason" text not null, ` +
        `"recorded_at" timestamptz not null, primary key ("provider", "offering"));`,
    );
    this.addSql(
      `create table "offering_price" ("provider" text not null, "offering" text not null, "hourly" numeric(20,10) not null, "currency" text not null, ` +
        `"fetched_at" timestamptz not null, primary key ("provider", "offering"));`,
    );
    this.addSql(`alter table "offering_price" add constraint "offering_price_hourly_check" check (hourly >= 0);`);
  }

  override down(): void {
    this.addSql('drop table "offering_price";');
    this.addSql('drop table "unavailable_offering";');
    this.addSql(`alter table "server" drop constraint "server_hourly_price_check";`);
    this.addSql(`alter table "server" drop column "hourly_price", drop column "offering";`);
  }
}
