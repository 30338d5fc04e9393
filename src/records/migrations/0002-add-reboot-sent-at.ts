import { Migration } from '@mikro-orm/migrations';

/**
 * Adds `server.reboot_sent_at`: when a verify pass claimed the sending of a rebooting server's reboot to the
 * cloud (see DynamicServers.claimReboot). Null while no reboot of the current request was claimed.
 */
export class AddRebootSentAt extends Migration {
  override name = '0002-add-reboot-sent-at';

  override up(): void {
    this.addSql(`alter table "server" add column "reboot_sent_at" timestamptz null;`);
  }

  override down(): void {
    this.addSql(`alter table "server" drop column "reboot_sent_at";`);
  }
}
