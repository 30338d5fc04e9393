import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { JsonObject } from '../json.ts';
import { SERVER_STATUSES } from '../statuses.ts';

/** Network addresses of a server, by kind (e.g. `{ ipv4: '203.0.113.7', private: '10.0.0.3' }`). */
export type ServerAddresses = Record<string, string>;

/**
 * The `server` table: one row per server the library ever asked for; a server that is gone has status `deleted`.
 * Only pruning deletes rows (deleted and errored servers, after a number of days). The snapshot template is stored
 * on the row (never secrets: those stay Pulumi secure config) with its hash, so a later template change cannot
 * alter what an existing server was built from.
 */
export const Server = defineEntity({
  name: 'Server',
  tableName: 'server',
  properties: {
    /** Assigned from the table's sequence before insert, so the name action can use it. */
    id: p.bigint('number').primary(),
    name: p.text().unique(),
    type: p.text(),
    provider: p.text(),
    status: p.enum(SERVER_STATUSES),
    statusUpdatedAt: p.datetime(),
    /** The cloud's own id for the server, once it has one. */
    providerId: p.text().nullable(),
    addresses: p.json<ServerAddresses>(),
    template: p.json<JsonObject>(),
    templateHash: p.text(),
    meta: p.json<JsonObject>(),
    /**
     * Set while a reboot was asked for and has not begun: the server is new or starting (it reboots once it runs)
     * or rebooting (it reboots once more when the current reboot ends).
     */
    rebootRequestedAt: p.datetime().nullable(),
    /**
     * Set when a verify pass claimed the sending of the current reboot to the cloud (DynamicServers.claimReboot);
     * cleared when the server runs again, or when the claim is given back.
     */
    rebootSentAt: p.datetime().nullable(),
    /** While `draining`: when the drain ends at the latest (its hook may push it back, up to the type's cap). */
    drainDeadline: p.datetime().nullable(),
    /** While `draining`: when a process claimed running the drain hook (so one process runs it); null before. */
    drainClaimedAt: p.datetime().nullable(),
    /** For a rollout's replacement: the id of the server it replaces (which is drained once this one runs). */
    replacesServerId: p.bigint('number').nullable(),
    /** The offering of the type's template the server is (to be) created on, e.g. `small@local-2`; null for one unnamed offering. */
    offering: p.text().nullable(),
    /** The offering's hourly price when it was chosen; null when none was known. */
    hourlyPrice: p.decimal('number').precision(20).scale(10).nullable(),
    lastErrorClass: p.text().nullable(),
    lastErrorMessage: p.text().nullable(),
    lastErrorStack: p.text().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
  checks: [{ name: 'server_hourly_price_check', expression: 'hourly_price >= 0' }],
  indexes: [
    { name: 'server_type_status_index', properties: ['type', 'status'] },
    { name: 'server_provider_status_index', properties: ['provider', 'status'] },
  ],
});

/** A managed row of the `server` table. */
export type ServerEntity = InferEntity<typeof Server>;
