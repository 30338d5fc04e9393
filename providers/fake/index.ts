// The fake cloud as a provider of the contract, for engine tests: one-shot errors and endless variants on demand.
import type * as pulumi from '@pulumi/pulumi';
import { parseProviderError, serverLabels, serverName, validateDeclaration, type DeclaredServer, type ServerDeclaration, type ServerProvider, type SnapshotTemplate } from '../contract.ts';
import { FakeCloud } from './fake-cloud.ts';
import { FakeServer } from './resource.ts';

export { FakeCloud, type EndlessVariant, type FakeBehaviour, type FakeOperation, type FakeServerRecord } from './fake-cloud.ts';
export { FakeServer } from './resource.ts';

/**
 * The fake provider on the fake cloud in `stateDir`: its Pulumi side declares one FakeServer per server (named by
 * the server id, labelled with serverLabels, taking the declaration's adopted server instead of creating one); its API side and its controls (`injectOnce`, `setBehaviour`) are
 * `cloud`. Any template object is accepted and stored as it is.
 */
export function fakeProvider(stateDir: string): ServerProvider & { readonly api: FakeCloud; readonly cloud: FakeCloud } {
  const cloud = new FakeCloud(stateDir);
  return {
    name: 'fake',
    api: cloud,
    cloud,
    checkTemplate(_template: SnapshotTemplate): void {},
    declareServer(declaration: ServerDeclaration, options?: pulumi.CustomResourceOptions): DeclaredServer {
      validateDeclaration(declaration);
      const resource = new FakeServer(
        serverName(declaration),
        {
          stateDir,
          name: serverName(declaration),
          labels: { ...serverLabels(declaration) },
          template: { ...declaration.template },
          ...(declaration.adopt === undefined ? {} : { adopt: declaration.adopt }),
        },
        options,
      );
      return { resource, providerId: resource.id };
    },
    parseDeploymentError: parseProviderError,
  };
}
