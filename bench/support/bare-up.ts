// The baseline the benches set the engine beside: a bare Automation API deployment of local-cloud servers on a stack
// of its own, with nothing of the engine in it (no records, no locks, no sweeps).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { localCloudProvider } from '../../providers/local/index.ts';
import { openPulumiDeployment, type PulumiDeployment } from '../../src/conformance/pulumi-deployment.ts';
import type { EngineWorld } from '../../test/support/engine-world.ts';

/** A deployment on stack `bare` in `world`'s data directory, against `world`'s local cloud. */
export async function openBareDeployment(world: EngineWorld): Promise<PulumiDeployment> {
  const workDir = join(world.dataDir, 'bare');
  await mkdir(workDir, { recursive: true });
  return openPulumiDeployment({
    engine: world.settings.engine,
    provider: localCloudProvider({ endpoint: world.cloud.url }),
    workDir,
    projectName: 'bare-up',
    stackName: 'bare',
    passphrase: 'bare',
  });
}

/** `count` declarations of small local-cloud servers, with server ids `<idPrefix>-0`, `<idPrefix>-1`, ... */
export function bareServers(count: number, idPrefix: string) {
  return Array.from({ length: count }, (_, index) => ({ installation: 'bench', serverId: `${idPrefix}-${index}`, serverType: 'bare', template: { snapshot: 'base-snapshot', size: 'small' } }));
}
