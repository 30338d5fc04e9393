// AWS EC2 as a provider of the contract: its Pulumi side (program.ts) and its API side (api-client.ts).
import type * as pulumi from '@pulumi/pulumi';
import { InvalidRequestError, type DeclaredServer, type Offering, type ServerDeclaration, type ServerProvider, type SnapshotTemplate } from '../contract.ts';
import { AwsApiClient, type AwsApiOptions } from './api-client.ts';
import { awsErrorFromText } from './errors.ts';
import { declareAwsInstance } from './program.ts';
import { awsOfferings, parseAwsTemplate } from './template.ts';

export { AwsApiClient, runInstancesInput, type AwsApiOptions, type AwsServerSpec } from './api-client.ts';
export { awsErrorFromText, errorFromAws } from './errors.ts';
export { AWS_UNREADABLE_INPUTS, declareAwsInstance } from './program.ts';
export { EC2_INSTANCE_STATES, TERMINATED } from './status.ts';
export { awsOfferings, NAME_TAG, parseAwsTemplate, spotOptions, type AwsTemplate } from './template.ts';

/**
 * The AWS EC2 provider. Its Pulumi side declares one EC2 instance per server (declareAwsInstance; the instance the
 * declaration adopts is imported); its API side is an AwsApiClient for `options.region`, so a template naming another
 * region is refused (InvalidRequestError). `parseDeploymentError` reads the typed error out of the aws plugin's text
 * of a failed step (EC2's error code). EC2 publishes no prices: a type's stack file gives them (`dynamic-servers:prices`).
 * Credentials: the standard AWS chain.
 */
export function awsProvider(options: AwsApiOptions = {}): ServerProvider & { readonly api: AwsApiClient; offerings(template: SnapshotTemplate): Offering[] } {
  const api = new AwsApiClient(options);
  const checkTemplate = (template: SnapshotTemplate) => {
    awsOfferings(template);
    const parsed = parseAwsTemplate(template);
    if (parsed.region && options.region && parsed.region !== options.region) {
      throw new InvalidRequestError(`the template's region ${parsed.region} is not the provider's region ${options.region}: the API side could not see its instances`);
    }
  };
  return {
    name: 'aws',
    api,
    checkTemplate,
    offerings: awsOfferings,
    declareServer(declaration: ServerDeclaration, resourceOptions?: pulumi.CustomResourceOptions): DeclaredServer {
      checkTemplate(declaration.template);
      const instance = declareAwsInstance(declaration, resourceOptions);
      return { resource: instance, providerId: instance.id };
    },
    parseDeploymentError: awsErrorFromText,
  };
}
