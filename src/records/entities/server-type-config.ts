import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * The `server_type_config` table: the registry of server types, one row per published version of a type's
 * reviewed stack file (earlier versions are kept). The newest version of a type is its configuration, unless it
 * is retired (its file was removed). Written only by publishing (`dynamic-servers publish`, workers).
 */
export const ServerTypeConfigVersion = defineEntity({
  name: 'ServerTypeConfigVersion',
  tableName: 'server_type_config',
  properties: {
    id: p.integer().primary().autoincrement(),
    serverType: p.text(),
    /** 1 for the first publication of the type, then one more per change. */
    version: p.integer(),
    provider: p.text(),
    /** The snapshot template new servers are created from (copied onto each server row). */
    template: p.json(),
    templateHash: p.text(),
    /** Everything else the file sets: limits, timeouts and policies, with defaults filled in. */
    settings: p.json(),
    /** `sha256:` of the provider, template and settings: equal files publish no new version. */
    contentHash: p.text(),
    /** The file it was published from, as the publisher named it. */
    source: p.text(),
    publishedAt: p.datetime(),
    /** Set when the type's file was removed: the type is no longer configured. */
    retiredAt: p.datetime().nullable(),
  },
  uniques: [{ name: 'server_type_config_version_unique', properties: ['serverType', 'version'] }],
});

/** A managed row of the `server_type_config` table. */
export type ServerTypeConfigVersionEntity = InferEntity<typeof ServerTypeConfigVersion>;

/**
 * The `provider_config` table: one row per published version of a provider's shared limits (from
 * `stacks/providers.yaml`); the newest version is in force unless retired.
 */
export const ProviderConfigVersion = defineEntity({
  name: 'ProviderConfigVersion',
  tableName: 'provider_config',
  properties: {
    id: p.integer().primary().autoincrement(),
    provider: p.text(),
    version: p.integer(),
    /** The provider's limits (e.g. `maxServers`). */
    settings: p.json(),
    contentHash: p.text(),
    publishedAt: p.datetime(),
    retiredAt: p.datetime().nullable(),
  },
  uniques: [{ name: 'provider_config_version_unique', properties: ['provider', 'version'] }],
});

/** A managed row of the `provider_config` table. */
export type ProviderConfigVersionEntity = InferEntity<typeof ProviderConfigVersion>;
