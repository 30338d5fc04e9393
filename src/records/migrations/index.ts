import { CreateServerRecords } from './0001-create-server-records.ts';
import { AddRebootSentAt } from './0002-add-reboot-sent-at.ts';
import { CreateConfigRegistry } from './0003-create-config-registry.ts';
import { AddCreateBackoff } from './0004-add-create-backoff.ts';
import { CreateInstallation } from './0005-create-installation.ts';
import { AddOfferingsAndPrices } from './0006-add-offerings-and-prices.ts';
import { AddRolloutAndDrain } from './0007-add-rollout-and-drain.ts';

/** The migrations of the server records, oldest first. Append new ones; never edit one that has shipped. */
export const RECORD_MIGRATIONS = [CreateServerRecords, AddRebootSentAt, CreateConfigRegistry, AddCreateBackoff, CreateInstallation, AddOfferingsAndPrices, AddRolloutAndDrain];

/** The table that remembers which record migrations ran. */
export const MIGRATIONS_TABLE = 'dynamic_servers_migrations';
