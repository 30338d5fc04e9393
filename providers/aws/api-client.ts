// The API side of the AWS provider: observe, list (describe by tag), stop, reboot and terminate EC2 instances
// with the AWS SDK v3 EC2 client, plus the idempotent launch that drives instances without `pulumi up` (the
// conformance suite's API steps, clean-ups). Credentials come from the standard AWS chain only: this module never
// takes, stores or logs them.
import type { EC2Client, Instance, RunInstancesCommandInput, Tag } from '@aws-sdk/client-ec2';
import { randomUUID } from 'node:crypto';
import {
  identityLabels,
  InvalidRequestError,
  LABEL,
  mapCloudStatus,
  ServerNotFoundError,
  UnexpectedResponseError,
  type Labels,
  type ObservedServer,
  type ServerApi,
} from '../contract.ts';
import { errorFromAws } from './errors.ts';
import { EC2_INSTANCE_STATES, TERMINATED } from './status.ts';
import { NAME_TAG, spotOptions, type AmiRef, type AwsTemplate } from './template.ts';

/** Where the EC2 API is and how hard the SDK tries. No credentials: they come from the standard AWS chain. */
export interface AwsApiOptions {
  /** AWS region (default: the standard chain's, e.g. AWS_REGION). */
  region?: string;
  /** EC2 endpoint override (tests point it at moto). */
  endpoint?: string;
  /** Attempts per call, the SDK's own retries of throttling and 5xx included (default 4). */
  maxAttempts?: number;
}

/** What an instance is launched from through the API (the same fields the Pulumi side sends). */
export interface AwsServerSpec {
  name: string;
  /** Must contain the `server-id` label: launching is idempotent by it. */
  labels: Labels;
  template: AwsTemplate;
}

/** The instance states a live instance can be in (every state but terminated). */
const LIVE_STATES = Object.keys(EC2_INSTANCE_STATES);
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

function tagsOf(instance: Instance): Record<string, string> {
  return Object.fromEntries((instance.Tags ?? []).filter((tag) => tag.Key !== undefined).map((tag) => [tag.Key!, tag.Value ?? '']));
}

function observed(instance: Instance): ObservedServer {
  const state = instance.State?.Name;
  if (!instance.InstanceId || !state) throw new UnexpectedResponseError('DescribeInstances returned an instance without id or state');
  const tags = tagsOf(instance);
  return {
    providerId: instance.InstanceId,
    name: tags[NAME_TAG] ?? instance.InstanceId,
    status: mapCloudStatus(EC2_INSTANCE_STATES, state),
    cloudStatus: state,
    labels: tags,
    ...(instance.PublicIpAddress ? { ipv4: instance.PublicIpAddress } : {}),
    createdAt: (instance.LaunchTime ?? new Date(0)).toISOString(),
  };
}

/** The EC2 tag filters selecting instances that carry all of `labels`. */
function tagFilters(labels: Labels): { Name: string; Values: string[] }[] {
  return Object.entries(labels).map(([key, value]) => ({ Name: `tag:${key}`, Values: [value] }));
}

/** The RunInstances input for `spec`, booting from `imageId`, with idempotency token `clientToken`. */
export function runInstancesInput(spec: AwsServerSpec, imageId: string, clientToken: string): RunInstancesCommandInput {
  const { template } = spec;
  const tags: Tag[] = Object.entries({ ...template.tags, [NAME_TAG]: spec.name, ...spec.labels }).map(([Key, Value]) => ({ Key, Value }));
  const spot = template.spot ? spotOptions(template.spot) : undefined;
  return {
    ImageId: imageId,
    InstanceType: template.instanceType as never,
    MinCount: 1,
    MaxCount: 1,
    ClientToken: clientToken,
    TagSpecifications: [{ ResourceType: 'instance', Tags: tags }],
    ...(template.subnetId ? { SubnetId: template.subnetId } : {}),
    ...(template.securityGroupIds ? { SecurityGroupIds: template.securityGroupIds } : {}),
    ...(template.keyName ? { KeyName: template.keyName } : {}),
    ...(template.userData === undefined ? {} : { UserData: Buffer.from(template.userData, 'utf8').toString('base64') }),
    ...(spot
      ? {
          InstanceMarketOptions: {
            MarketType: 'spot',
            SpotOptions: {
              ...(spot.maxPrice === undefined ? {} : { MaxPrice: spot.maxPrice }),
              InstanceInterruptionBehavior: spot.instanceInterruptionBehavior as never,
              SpotInstanceType: spot.spotInstanceType as never,
            },
          },
        }
      : {}),
  };
}

/** The AWS SDK's EC2 module. */
type Ec2Sdk = typeof import('@aws-sdk/client-ec2');

let ec2Sdk: Promise<Ec2Sdk> | null = null;

/** The EC2 SDK, loaded on first use: a process with no AWS server type never loads it (about 60 MB of memory). */
function loadEc2Sdk(): Promise<Ec2Sdk> {
  ec2Sdk ??= import('@aws-sdk/client-ec2');
  return ec2Sdk;
}

/** The EC2 API client. Every method throws ProviderError subclasses only. */
export class AwsApiClient implements ServerApi {
  readonly #options: AwsApiOptions;
  #ec2: Promise<{ client: EC2Client; sdk: Ec2Sdk }> | null = null;

  constructor(options: AwsApiOptions = {}) {
    this.#options = options;
  }

  /** The SDK client, made at the first call. */
  #connection(): Promise<{ client: EC2Client; sdk: Ec2Sdk }> {
    this.#ec2 ??= loadEc2Sdk().then((sdk) => ({
      sdk,
      client: new sdk.EC2Client({
        ...(this.#options.region ? { region: this.#options.region } : {}),
        ...(this.#options.endpoint ? { endpoint: this.#options.endpoint } : {}),
        maxAttempts: this.#options.maxAttempts ?? 4,
      }),
    }));
    return this.#ec2;
  }

  /** Sends one EC2 command made by `call`; every failure becomes a typed error. */
  async #send<T>(what: string, call: (client: EC2Client, sdk: Ec2Sdk) => Promise<T>): Promise<T> {
    const { client, sdk } = await this.#connection();
    try {
      return await call(client, sdk);
    } catch (error) {
      throw errorFromAws(what, error);
    }
  }

  #checkId(providerId: string): void {
    if (typeof providerId !== 'string' || !INSTANCE_ID.test(providerId)) throw new InvalidRequestError(`'${String(providerId)}' is not an EC2 instance id (i-...)`);
  }

  /**
   * {@inheritDoc ServerApi.observe} A terminated instance is ServerNotFoundError too: EC2 shows it for a while
   * after it is gone, and it can never run again.
   */
  async observe(providerId: string): Promise<ObservedServer> {
    this.#checkId(providerId);
    const answer = await this.#send(`DescribeInstances ${providerId}`, (ec2, sdk) => ec2.send(new sdk.DescribeInstancesCommand({ InstanceIds: [providerId] })));
    const instance = answer.Reservations?.flatMap((reservation) => reservation.Instances ?? []).find((candidate) => candidate.InstanceId === providerId);
    if (!instance) throw new ServerNotFoundError(`DescribeInstances ${providerId}: no such instance`);
    if (instance.State?.Name === TERMINATED) throw new ServerNotFoundError(`instance ${providerId} is terminated`, { cloudCode: TERMINATED });
    return observed(instance);
  }

  /** {@inheritDoc ServerApi.list} Every page of DescribeInstances filtered by the tags; terminated instances are left out. */
  async list(labels: Labels): Promise<ObservedServer[]> {
    const servers: ObservedServer[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const answer = await this.#send('DescribeInstances', (ec2, sdk) =>
        ec2.send(
          new sdk.DescribeInstancesCommand({
            Filters: [...tagFilters(labels), { Name: 'instance-state-name', Values: LIVE_STATES }],
            MaxResults: 1000,
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      for (const reservation of answer.Reservations ?? []) for (const instance of reservation.Instances ?? []) servers.push(observed(instance));
      nextToken = answer.NextToken || undefined;
    } while (nextToken);
    return servers;
  }

  /** {@inheritDoc ServerApi.stop} An instance already stopping or stopped is left as it is. */
  async stop(providerId: string): Promise<void> {
    const server = await this.observe(providerId);
    if (server.status === 'stopping' || server.status === 'stopped') return;
    if (server.status === 'deleting') throw new InvalidRequestError(`instance ${providerId} is being terminated; it cannot be stopped`);
    await this.#send(`StopInstances ${providerId}`, (ec2, sdk) => ec2.send(new sdk.StopInstancesCommand({ InstanceIds: [providerId] })));
  }

  /** {@inheritDoc ServerApi.reboot} EC2 reboots asynchronously; the instance stays `running` throughout. */
  async reboot(providerId: string): Promise<void> {
    this.#checkId(providerId);
    await this.#send(`RebootInstances ${providerId}`, (ec2, sdk) => ec2.send(new sdk.RebootInstancesCommand({ InstanceIds: [providerId] })));
  }

  /** {@inheritDoc ServerApi.delete} Terminates the instance (EC2 shuts it down first). */
  async delete(providerId: string): Promise<void> {
    this.#checkId(providerId);
    try {
      await this.#send(`TerminateInstances ${providerId}`, (ec2, sdk) => ec2.send(new sdk.TerminateInstancesCommand({ InstanceIds: [providerId] })));
    } catch (error) {
      if (!(error instanceof ServerNotFoundError)) throw error;
    }
  }

  /** The id of the AMI `ami` names: its id, or the newest available AMI carrying all the selector's tags. */
  async resolveAmi(ami: AmiRef): Promise<string> {
    if ('id' in ami) return ami.id;
    const answer = await this.#send('DescribeImages', (ec2, sdk) =>
      ec2.send(new sdk.DescribeImagesCommand({ Owners: ami.owners ?? ['self'], Filters: [...tagFilters(ami.selector), { Name: 'state', Values: ['available'] }] })),
    );
    const newest = (answer.Images ?? []).filter((image) => image.ImageId).sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
    if (!newest) throw new InvalidRequestError(`no available AMI carries the tags ${Object.entries(ami.selector).map(([key, value]) => `${key}=${value}`).join(', ')}`);
    return newest.ImageId!;
  }

  /**
   * Launches an instance from `spec`, or adopts the live one already tagged with the same identity (managed-by,
   * installation and server id; not being terminated). The launch carries a fresh ClientToken, which the SDK reuses
   * on its own retries, so a retried RunInstances never launches twice. Returns once EC2 accepted the launch. Throws
   * InsufficientCapacityError and QuotaExceededError as EC2 answers.
   */
  async createServer(spec: AwsServerSpec): Promise<ObservedServer> {
    const identity = identityLabels(spec.labels);
    if (!identity) throw new InvalidRequestError(`server '${spec.name}' has no '${LABEL.serverId}' label: creation could not be made idempotent`);
    const existing = (await this.list(identity)).filter((server) => server.status !== 'deleting').sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
    if (existing) return existing;
    const imageId = await this.resolveAmi(spec.template.ami);
    const input = runInstancesInput(spec, imageId, randomUUID());
    const answer = await this.#send('RunInstances', (ec2, sdk) => ec2.send(new sdk.RunInstancesCommand(input)));
    const instance = answer.Instances?.[0];
    if (!instance) throw new UnexpectedResponseError('RunInstances returned no instance');
    return observed(instance);
  }

  /** Closes the SDK client's connections (none when no call was made). */
  close(): void {
    void this.#ec2?.then(({ client }) => client.destroy());
  }
}
