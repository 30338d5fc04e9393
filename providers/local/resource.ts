// The Pulumi side of the local cloud provider: a dynamic resource whose create and delete go through the API
// client (client.ts). Pulumi serializes the provider's methods into the state and runs them in its dynamic-provider plugin
// (another process), so the methods capture nothing but the client's package specifier (a string) and
// importFromProject, and load the client from the project each time they run: no path enters the state.
import * as pulumi from '@pulumi/pulumi';
import { importFromProject } from '../contract.ts';

/** The API client module as this package exports it, captured by value by the serialized provider methods. */
const CLIENT_MODULE = 'dynamic-servers/providers/local/client';

/** The properties of a LocalServer in Pulumi state. `token` is a Pulumi secret: encrypted in state, never in logs. */
export interface LocalServerProperties {
  endpoint: string;
  /** API token; the empty string when the cloud needs none. */
  token: string;
  name: string;
  size: string;
  snapshot: string;
  location?: string;
  labels: Record<string, string>;
  /** The existing server the create takes instead of creating one (ServerDeclaration.adopt); read only by create. */
  adopt?: string;
  /** false: create always asks for a new server, as native plugins do (a testing aid); read only by create. */
  adoptOnCreate?: boolean;
}

/** What `up` records after creating the server. */
export interface LocalServerOutputs extends LocalServerProperties {
  ipv4: string;
}

/** The CRUD of one local cloud server, run by the engine's dynamic-provider plugin. */
const localServerProvider: pulumi.dynamic.ResourceProvider<LocalServerProperties, LocalServerOutputs> = {
  async diff(_id, olds, news) {
    const canonical = (value: unknown) =>
      JSON.stringify(value && typeof value === 'object' ? Object.entries(value).sort(([a], [b]) => a.localeCompare(b)) : (value ?? null));
    const replaces = ['name', 'size', 'snapshot', 'location', 'labels'].filter(
      (key) => canonical(olds[key as keyof LocalServerOutputs]) !== canonical(news[key as keyof LocalServerProperties]),
    );
    const changes = replaces.length > 0 || olds.endpoint !== news.endpoint || olds.token !== news.token;
    // The replacement has the same name and server id: the old server must be on its way out first.
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs) {
    const local = await importFromProject<typeof import('./client.ts')>(CLIENT_MODULE);
    try {
      const server = await local.createLocalServer(inputs);
      return { id: server.providerId, outs: { ...inputs, ipv4: server.ipv4 ?? '' } };
    } catch (error) {
      throw local.markProviderError(error);
    }
  },

  async read(id, props) {
    const local = await importFromProject<typeof import('./client.ts')>(CLIENT_MODULE);
    try {
      const server = await local.observeLocalServer(props!.endpoint, props!.token, id);
      return { id, props: { ...props!, ipv4: server.ipv4 ?? '', labels: server.labels } };
    } catch (error) {
      if (error instanceof local.ServerNotFoundError) return { id: '', props: {} as LocalServerOutputs };
      throw local.markProviderError(error);
    }
  },

  async update(_id, olds, news) {
    // Only the endpoint or the token changed (everything else replaces): nothing to do in the cloud.
    return { outs: { ...news, ipv4: olds.ipv4 } };
  },

  async delete(id, props) {
    const local = await importFromProject<typeof import('./client.ts')>(CLIENT_MODULE);
    try {
      await local.deleteLocalServer(props.endpoint, props.token, id);
    } catch (error) {
      throw local.markProviderError(error);
    }
  },
};

/** Arguments of a LocalServer. */
export interface LocalServerArgs {
  endpoint: pulumi.Input<string>;
  /** Made a Pulumi secret whatever is passed. */
  token?: pulumi.Input<string>;
  name: pulumi.Input<string>;
  size: pulumi.Input<string>;
  snapshot: pulumi.Input<string>;
  location?: pulumi.Input<string>;
  labels: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The cloud id of an existing server to take instead of creating one (see ServerDeclaration.adopt). */
  adopt?: pulumi.Input<string>;
  /** false: create always asks for a new server, as a native plugin's does (testing aid). Default true. */
  adoptOnCreate?: pulumi.Input<boolean>;
}

/**
 * One server of the local cloud as a Pulumi resource (type `pulumi-nodejs:dynamic/local-cloud:Server`); its id is
 * the cloud's server id. Create takes the server `adopt` names when given, else adopts a server already labelled
 * with the same identity (unless `adoptOnCreate` is false), else creates one; it returns once the cloud accepted it.
 * Delete returns once the cloud accepted the deletion. Changing the name, size, snapshot, location or labels
 * replaces the server (old one deleted first); the other inputs change nothing in the cloud.
 */
export class LocalServer extends pulumi.dynamic.Resource {
  declare readonly ipv4: pulumi.Output<string>;
  declare readonly labels: pulumi.Output<Record<string, string>>;

  constructor(resourceName: string, args: LocalServerArgs, options: pulumi.CustomResourceOptions = {}) {
    super(
      localServerProvider,
      resourceName,
      { ...args, token: pulumi.secret(args.token ?? ''), ipv4: undefined },
      { ...options, additionalSecretOutputs: [...(options.additionalSecretOutputs ?? []), 'token'] },
      'local-cloud',
      'Server',
    );
  }
}
