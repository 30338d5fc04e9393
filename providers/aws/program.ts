// The Pulumi side of the AWS provider: one `aws.ec2.Instance` per declared server, from the type's AMI (by id, or
// the newest AMI carrying a set of tags), instance type, subnet, security groups, key pair, tags, user data and
// optional spot request. Credentials come from the standard AWS chain of the engine's environment.
import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import { serverLabels, serverName, validateDeclaration, type ServerDeclaration } from '../contract.ts';
import { NAME_TAG, parseAwsTemplate, spotOptions, type AmiRef } from './template.ts';

/** The AMI id for `ami`: its id, or the newest available AMI carrying the selector's tags (`getAmi`). */
function amiId(ami: AmiRef, region: string | undefined, invokeOptions: pulumi.InvokeOutputOptions): pulumi.Input<string> {
  if ('id' in ami) return ami.id;
  return aws.ec2
    .getAmiOutput(
      {
        mostRecent: true,
        owners: ami.owners ?? ['self'],
        filters: [...Object.entries(ami.selector).map(([key, value]) => ({ name: `tag:${key}`, values: [value] })), { name: 'state', values: ['available'] }],
        ...(region ? { region } : {}),
      },
      invokeOptions,
    )
    .apply((image) => image.id);
}

/**
 * Inputs of an instance that EC2 does not give back as they were sent (user data, the replace-on-change switch, the
 * AMI looked up by tags, the spot request): an adopted instance's import could not match them, so their changes are
 * ignored on every instance. An instance's template never changes once it exists (the row keeps it).
 */
export const AWS_UNREADABLE_INPUTS = ['ami', 'userData', 'userDataReplaceOnChange', 'instanceMarketOptions'] as const;

/**
 * Declares the instance `declaration` describes: an `aws:ec2/instance:Instance` named by the server id, tagged
 * with the template's tags, `Name` = the server id and serverLabels, launched from the template's AMI, instance
 * type, subnet, security groups, key pair and user data (a change of user data replaces the instance), as a spot
 * instance when the template asks. Replacement deletes first, so two instances never carry the same server id.
 * With `declaration.adopt`, the existing instance of that id is imported (Pulumi's `import` option) instead of
 * launched. Throws InvalidRequestError for a bad declaration or template.
 */
export function declareAwsInstance(declaration: ServerDeclaration, options: pulumi.CustomResourceOptions = {}): aws.ec2.Instance {
  validateDeclaration(declaration);
  const template = parseAwsTemplate(declaration.template);
  const name = serverName(declaration);
  const invokeOptions = options.provider ? { provider: options.provider } : {};
  return new aws.ec2.Instance(
    name,
    {
      ami: amiId(template.ami, template.region, invokeOptions),
      instanceType: template.instanceType,
      tags: { ...template.tags, [NAME_TAG]: name, ...serverLabels(declaration) },
      ...(template.region ? { region: template.region } : {}),
      ...(template.subnetId ? { subnetId: template.subnetId } : {}),
      ...(template.securityGroupIds ? { vpcSecurityGroupIds: template.securityGroupIds } : {}),
      ...(template.keyName ? { keyName: template.keyName } : {}),
      ...(template.userData === undefined ? {} : { userData: template.userData, userDataReplaceOnChange: true }),
      ...(template.spot ? { instanceMarketOptions: { marketType: 'spot', spotOptions: spotOptions(template.spot) } } : {}),
    },
    {
      ...options,
      deleteBeforeReplace: true,
      ignoreChanges: [...(options.ignoreChanges ?? []), ...AWS_UNREADABLE_INPUTS],
      ...(declaration.adopt === undefined ? {} : { import: declaration.adopt }),
    },
  );
}
