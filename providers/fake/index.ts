// The fake cloud as a provider of the contract, for engine tests: one-shot errors and endless variants on demand.
import type * as pulumi from '@pulumi/pulumi';
import {
  parseProviderError,
  serverLabels,
  serverName,
  templateOfferings,
  validateDeclaration,
  type DeclaredServer,
  type Offering,
  type ServerDeclaration,
  type ServerProvider,
  type SnapshotTemplate,
} from '../contract.ts';
import { FakeCloud } from './fake-cloud.ts';
import { FakeServer } from './resource.ts';

export { FakeCloud, type EndlessVariant, type FakeBehaviour, type FakeOperation, type FakeServerRecord } from './fake-cloud.ts';
export { FakeServer } from './resource.ts';

/** The offerings of a fake template: named by the `size` of each (`fake` when it has none). */
export function fakeOfferings(template: SnapshotTemplate): Offering[] {
  return templateOfferings(template, (offering) => (typeof offering.size === 'string' ? offering.size : 'fake'));
}

/**
 * The fake provider on the fake cloud in `stateDir`: its Pulumi side declares one FakeServer per server (named by
 * the server id, labelled with serverLabels, taking the declaration's adopted server instead of creating one); its API
 * side and its controls (`injectOnce`, `setBehaviour`) are `cloud`. Any template object is accepted and stored as it
 * is; its offerings are named by its `size` (`fake` when it has none), with `fallbacks` as for every provider.
 */
export function fakeProvider(stateDir: string): ServerProvider & { readonly api: FakeCloud; readonly cloud: FakeCloud; offerings(template: SnapshotTemplate): Offering[] } {
  const cloud = new FakeCloud(stateDir);
  return {
    name: 'fake',
    api: cloud,
    cloud,
    checkTemplate(_template: SnapshotTemplate): void {},
    offerings: fakeOfferings,
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
