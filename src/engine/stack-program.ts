// The program of Pulumi.yaml: `pulumi preview --stack <type>` (or `up`) run from the project root declares the
// same servers as the engine's next reconcile, read from the same database (DATABASE_URL) and declared by the
// same function: the live rows and the servers the next rollout step creates (EngineRecords.plannedServers, which
// writes nothing). The stack name is the server type.
import * as pulumi from '@pulumi/pulumi';
import { EngineRecords } from '../records/engine-records.ts';
import { declareServers } from './declared-servers.ts';
import { createProvider } from './provider-registry.ts';

const serverType = pulumi.getStack();
const config = pulumi.runtime.allConfig();
const providerName = config['dynamic-servers:provider'] ?? '';
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new pulumi.RunError('DATABASE_URL must point at the dynamic-servers database to preview a server type');

const records = await EngineRecords.openForEngine({ databaseUrl, poolSize: 1 });
let rows;
try {
  rows = (await records.plannedServers(serverType)).servers;
} finally {
  await records.close();
}
const provider = await createProvider(providerName, config, { projectDir: process.cwd(), dataDir: process.env.DYNAMIC_SERVERS_DATA_DIR ?? '.data' });
const declared = declareServers(provider, serverType, records.installationId, rows);
for (const failure of declared.failures) {
  pulumi.log.warn(`server ${failure.name} is left out: its declaration failed (${failure.errorClass}: ${failure.message}); the next reconcile records it errored`);
}
export const providerIds = declared.providerIds;
