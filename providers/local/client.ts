// The API side of the local cloud provider: the shared Hetzner API client (../hetzner-api), pointed at a local
// cloud. The Pulumi side (resource.ts) loads this module inside the engine's dynamic-provider plugin, so it imports
// nothing but the contract and the shared client.
import type { ObservedServer } from '../contract.ts';
import { HetznerApiClient, type HetznerApiOptions } from '../hetzner-api/client.ts';
import { localCreateSpec, type LocalTemplate } from './template.ts';

export { markProviderError, ServerNotFoundError } from '../contract.ts';

/**
 * How to reach a local cloud and how hard to try: the shared client's options, with the endpoint required (what
 * `dynamic-servers local-cloud` prints, e.g. `http://127.0.0.1:40123/v1`) and the token optional (a cloud started
 * with one requires it). Retries back off from 250 ms to 5 s and a request is abandoned after 15 s unless set.
 */
export type LocalCloudClientOptions = Omit<HetznerApiOptions, 'cloudName' | 'missingTokenHint' | 'shutdownBeforeDelete'>;

/** The API client of the local cloud at `options.endpoint`. Throws InvalidRequestError for a bad endpoint. */
export function localCloudClient(options: LocalCloudClientOptions): HetznerApiClient {
  return new HetznerApiClient({ backoffMs: 250, maxBackoffMs: 5000, requestTimeoutMs: 15_000, ...options, cloudName: 'local cloud' });
}

/** What the Pulumi side's create needs: where the cloud is, and the server's name, labels and template fields. */
export interface LocalServerRequest extends LocalTemplate {
  endpoint: string;
  /** The empty string when the cloud needs none. */
  token: string;
  name: string;
  labels: Record<string, string>;
  /** The cloud id of the existing server to take instead of creating one (ServerDeclaration.adopt). */
  adopt?: string;
  /**
   * false: every create attempt asks for a new server, as the native plugins' creates do (a testing aid); default
   * true: a create first looks for the server already labelled with the same identity (see HetznerApiClient.createServer).
   */
  adoptOnCreate?: boolean;
}

/**
 * Takes server `request.adopt` when given (checking it carries the request's labels), else creates the server
 * `request` describes, adopting one already labelled with its identity unless `adoptOnCreate` is false.
 */
export function createLocalServer(request: LocalServerRequest): Promise<ObservedServer> {
  const client = localCloudClient({ endpoint: request.endpoint, token: request.token });
  if (request.adopt) return client.adoptServer(request.adopt, request.labels);
  return client.createServer(localCreateSpec(request.name, request.labels, request), { adoptExisting: request.adoptOnCreate ?? true });
}

/** Deletes server `providerId` of the cloud at `endpoint`; a server already gone counts as deleted. */
export function deleteLocalServer(endpoint: string, token: string, providerId: string): Promise<void> {
  return localCloudClient({ endpoint, token }).delete(providerId);
}

/** Observes server `providerId` of the cloud at `endpoint` (see HetznerApiClient.observe). */
export function observeLocalServer(endpoint: string, token: string, providerId: string): Promise<ObservedServer> {
  return localCloudClient({ endpoint, token }).observe(providerId);
}
