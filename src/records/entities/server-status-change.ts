import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { SERVER_STATUSES } from '../statuses.ts';
import { Server } from './server.ts';

/** The `server_status_change` table: every status a server took, with the one before (null at creation) and why. */
export const ServerStatusChange = defineEntity({
  name: 'ServerStatusChange',
  tableName: 'server_status_change',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    server: () => p.manyToOne(Server).mapToPk().index('server_status_change_server_id_index'),
    fromStatus: p.enum(SERVER_STATUSES).nullable(),
    toStatus: p.enum(SERVER_STATUSES),
    reason: p.text(),
    changedAt: p.datetime(),
  },
});

/** A managed row of the `server_status_change` table. */
export type ServerStatusChangeEntity = InferEntity<typeof ServerStatusChange>;
