// The Pulumi side of the fake provider: a dynamic resource whose create and delete act on the fake cloud's state
// directory. Like every dynamic provider, its methods capture nothing but a package specifier (a string) and
// importFromProject, and load the fake cloud from the project when the engine's plugin runs them.
import * as pulumi from '@pulumi/pulumi';
import { importFromProject } from '../contract.ts';

/** The fake cloud module as this package exports it, captured by value by the serialized provider methods. */
const FAKE_CLOUD_MODULE = 'dynamic-servers/providers/fake/fake-cloud';

/** The properties of a FakeServer in Pulumi state. */
export interface FakeServerProperties {
  stateDir: string;
  name: string;
  labels: Record<string, string>;
  template: Record<string, unknown>;
  /** The existing server the create takes instead of creating one (ServerDeclaration.adopt); read only by create. */
  adopt?: string;
}

/** The CRUD of one fake server, run by the engine's dynamic-provider plugin. */
const fakeServerProvider: pulumi.dynamic.ResourceProvider<FakeServerProperties, FakeServerProperties> = {
  async diff(_id, olds, news) {
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const replaces = (['name', 'labels', 'template'] as const).filter((key) => !same(olds[key], news[key]));
    return { changes: replaces.length > 0 || olds.stateDir !== news.stateDir, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const fake = await importFromProject<typeof import('./fake-cloud.ts')>(FAKE_CLOUD_MODULE);
    try {
      const cloud = new fake.FakeCloud(inputs.stateDir);
      const server = inputs.adopt ? await cloud.adopt(inputs.adopt, inputs.labels) : await cloud.create({ name: inputs.name, labels: inputs.labels, template: inputs.template });
      return { id: server.providerId, outs: inputs };
    } catch (error) {
      throw fake.markProviderError(error);
    }
  },

  async update(_id, _olds, news) {
    return { outs: news };
  },

  async delete(id, props) {
    const fake = await importFromProject<typeof import('./fake-cloud.ts')>(FAKE_CLOUD_MODULE);
    try {
      await new fake.FakeCloud(props.stateDir).delete(id);
    } catch (error) {
      throw fake.markProviderError(error);
    }
  },
};

/** Arguments of a FakeServer. */
export interface FakeServerArgs {
  stateDir: pulumi.Input<string>;
  name: pulumi.Input<string>;
  labels: pulumi.Input<Record<string, pulumi.Input<string>>>;
  template: pulumi.Input<Record<string, unknown>>;
  /** The cloud id of an existing server to take instead of creating one (see ServerDeclaration.adopt). */
  adopt?: pulumi.Input<string>;
}

/** One server of a fake cloud as a Pulumi resource (type `pulumi-nodejs:dynamic/fake-cloud:Server`). */
export class FakeServer extends pulumi.dynamic.Resource {
  constructor(resourceName: string, args: FakeServerArgs, options?: pulumi.CustomResourceOptions) {
    super(fakeServerProvider, resourceName, { ...args }, options, 'fake-cloud', 'Server');
  }
}
