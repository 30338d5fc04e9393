// The snapshot template of an AWS EC2 server type: what every instance of the type is launched from.
import { z } from 'zod';
import { InvalidRequestError, LABEL, templateOfferings, type Offering, type SnapshotTemplate } from '../contract.ts';

/** The tag EC2 shows as an instance's name; set to the server's stable id. */
export const NAME_TAG = 'Name';

const RESERVED_TAGS = new Set<string>([...Object.values(LABEL), NAME_TAG]);

const tagsSchema = z
  .record(z.string().min(1).max(128).refine((key) => !key.toLowerCase().startsWith('aws:'), 'tags starting with aws: are reserved by AWS'), z.string().max(256))
  .refine((tags) => Object.keys(tags).every((key) => !RESERVED_TAGS.has(key)), {
    message: `tags ${[...RESERVED_TAGS].join(', ')} are set by dynamic-servers and cannot be given in a template`,
  });

const amiSchema = z.union([
  z.strictObject({
    /** The AMI's id. */
    id: z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'must be an AMI id (ami-...)'),
  }),
  z.strictObject({
    /** Tags the AMI must carry; the newest available AMI carrying all of them is used. */
    selector: z.record(z.string().min(1), z.string()).refine((tags) => Object.keys(tags).length > 0, 'must name at least one tag'),
    /** Accounts whose AMIs are considered (default: `self`). */
    owners: z.array(z.string().min(1)).min(1).optional(),
  }),
]);

const templateSchema = z.strictObject({
  /** The AMI instances boot from: `{ id }`, or `{ selector, owners? }` for the newest AMI carrying those tags. */
  ami: amiSchema,
  /** EC2 instance type, e.g. `t3.small`. */
  instanceType: z.string().min(1),
  /** AWS region (default: the region of the standard AWS configuration chain). */
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-central-1').optional(),
  /** Subnet to launch into (default: the default VPC's default subnet). */
  subnetId: z.string().regex(/^subnet-[0-9a-f]+$/).optional(),
  /** Security groups, by id. */
  securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]+$/)).optional(),
  /** EC2 key pair name for SSH. */
  keyName: z.string().min(1).optional(),
  /** Extra tags (the project's labels and the Name tag are added, and cannot be overridden). */
  tags: tagsSchema.optional(),
  /** User data (plain text; EC2 receives it base64-encoded). */
  userData: z.string().max(16 * 1024).optional(),
  /** Launch as a spot instance. `interruptionBehavior` stop or hibernate makes the request persistent. */
  spot: z
    .strictObject({
      maxPrice: z.string().regex(/^\d+(\.\d+)?$/).optional(),
      interruptionBehavior: z.enum(['terminate', 'stop', 'hibernate']).optional(),
    })
    .optional(),
  /**
   * Other offerings in order of preference, each another instance type, subnet (an availability zone) or both,
   * tried when EC2 answers `InsufficientInstanceCapacity`.
   */
  fallbacks: z
    .array(
      z
        .strictObject({ instanceType: z.string().min(1).optional(), subnetId: z.string().regex(/^subnet-[0-9a-f]+$/).optional() })
        .refine((entry) => entry.instanceType !== undefined || entry.subnetId !== undefined, 'a fallback names an instanceType, a subnetId or both'),
    )
    .min(1)
    .optional(),
});

/** An AWS EC2 snapshot template, validated. */
export type AwsTemplate = z.output<typeof templateSchema>;

/** The AMI part of a template: by id, or by tag selector. */
export type AmiRef = AwsTemplate['ami'];

/** `template` as an AwsTemplate; throws InvalidRequestError naming every bad or unknown field. */
export function parseAwsTemplate(template: SnapshotTemplate): AwsTemplate {
  const parsed = templateSchema.safeParse(template);
  if (!parsed.success) throw new InvalidRequestError(`invalid AWS snapshot template: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * The offerings of an AWS template: its own instance type and subnet, then each fallback's, named
 * `instanceType@subnetId` (just `instanceType` without a subnet). Throws InvalidRequestError for a bad template.
 */
export function awsOfferings(template: SnapshotTemplate): Offering[] {
  parseAwsTemplate(template);
  return templateOfferings(template, (offering) => (offering.subnetId === undefined ? String(offering.instanceType) : `${String(offering.instanceType)}@${String(offering.subnetId)}`));
}

/** The spot request of `spot` in the EC2 API's terms (one-time for terminate, persistent otherwise). */
export function spotOptions(spot: NonNullable<AwsTemplate['spot']>): { maxPrice?: string; instanceInterruptionBehavior: string; spotInstanceType: string } {
  const behaviour = spot.interruptionBehavior ?? 'terminate';
  return {
    ...(spot.maxPrice === undefined ? {} : { maxPrice: spot.maxPrice }),
    instanceInterruptionBehavior: behaviour,
    spotInstanceType: behaviour === 'terminate' ? 'one-time' : 'persistent',
  };
}
