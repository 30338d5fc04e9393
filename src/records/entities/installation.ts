import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * The `installation` table: one row, the id of the installation this records database belongs to (made by its
 * migration, never changed). Every server the installation creates is labelled with it.
 */
export const Installation = defineEntity({
  name: 'Installation',
  tableName: 'installation',
  properties: {
    id: p.text().primary(),
    createdAt: p.datetime(),
  },
  checks: [{ name: 'installation_id_check', expression: "id ~ '^[a-z0-9]{1,63}$'" }],
});

/** A managed row of the `installation` table. */
export type InstallationEntity = InferEntity<typeof Installation>;
