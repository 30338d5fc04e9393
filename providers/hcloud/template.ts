// The snapshot template of a Hetzner Cloud server type: what every server of the type is created from.
import { z } from 'zod';
import { LABEL, templateOfferings, type Labels, type Offering, type SnapshotTemplate } from '../contract.ts';
import type { ServerCreateSpec } from '../hetzner-api/client.ts';
import { parseTemplate } from '../hetzner-api/template.ts';

/** A Hetzner label key or value as the API accepts it (63 characters; letters and digits at both ends). */
const LABEL_VALUE = /^(?:[a-zA-Z0-9](?:[-_.a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)?$/;
const LABEL_KEY = /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[a-zA-Z0-9](?:[-_.a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$/;
const OWN_LABELS = new Set<string>(Object.values(LABEL));

const labelsSchema = z
  .record(z.string().regex(LABEL_KEY, 'not a valid Hetzner label key'), z.string().regex(LABEL_VALUE, 'not a valid Hetzner label value'))
  .refine((labels) => Object.keys(labels).every((key) => !OWN_LABELS.has(key)), {
    message: `labels ${[...OWN_LABELS].join(', ')} are set by dynamic-servers and cannot be given in a template`,
  });

const snapshotSchema = z.union([
  z.strictObject({
    /** The snapshot's numeric id. */
    id: z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/)]).transform(String),
  }),
  z.strictObject({
    /** Labels the snapshot must carry; the newest available snapshot carrying all of them is used. */
    selector: z.record(z.string().regex(LABEL_KEY), z.string().regex(LABEL_VALUE)).refine((labels) => Object.keys(labels).length > 0, 'must name at least one label'),
  }),
]);

const templateSchema = z.strictObject({
  /** The snapshot servers boot from: `{ id }`, or `{ selector }` for the newest snapshot carrying those labels. */
  snapshot: snapshotSchema,
  /** Hetzner server type, e.g. `cx22`. */
  serverType: z.string().min(1),
  /** Hetzner location, e.g. `fsn1`. */
  location: z.string().min(1),
  /** SSH key names or ids to install for root. */
  sshKeys: z.array(z.string().min(1)).optional(),
  /** Extra labels for the server (the project's own three labels are added, and cannot be overridden). */
  labels: labelsSchema.optional(),
  /** cloud-init user data. */
  userData: z.string().optional(),
  /** Firewalls to apply, by id. */
  firewallIds: z.array(z.number().int().positive()).optional(),
  /** Private networks to attach, by id, optionally with a fixed IP. */
  networks: z.array(z.strictObject({ networkId: z.number().int().positive(), ip: z.string().min(1).optional() })).optional(),
  /** Placement group, by id. */
  placementGroupId: z.number().int().positive().optional(),
  /** Public IPv4 and IPv6 (both default to true). */
  publicIpv4: z.boolean().optional(),
  publicIpv6: z.boolean().optional(),
  /**
   * Other offerings in order of preference, each another server type, location or both, tried when Hetzner answers
   * `resource_unavailable`.
   */
  fallbacks: z
    .array(
      z
        .strictObject({ serverType: z.string().min(1).optional(), location: z.string().min(1).optional() })
        .refine((entry) => entry.serverType !== undefined || entry.location !== undefined, 'a fallback names a serverType, a location or both'),
    )
    .min(1)
    .optional(),
});

/** A Hetzner Cloud snapshot template, validated. */
export type HcloudTemplate = z.output<typeof templateSchema>;

/** The snapshot part of a template: by id, or by label selector. */
export type HcloudSnapshotRef = HcloudTemplate['snapshot'];

/** `template` as an HcloudTemplate; throws InvalidRequestError naming every bad or unknown field. */
export function parseHcloudTemplate(template: SnapshotTemplate): HcloudTemplate {
  return parseTemplate(templateSchema, template, 'Hetzner Cloud');
}

/**
 * The offerings of a Hetzner Cloud template: its own server type and location, then each fallback's, named
 * `serverType@location` (as Hetzner prices them). Throws InvalidRequestError for a bad template.
 */
export function hcloudOfferings(template: SnapshotTemplate): Offering[] {
  parseHcloudTemplate(template);
  return templateOfferings(template, (offering) => `${String(offering.serverType)}@${String(offering.location)}`);
}

/**
 * What `POST /servers` needs to create server `name` with the project's `labels` from `template`: the same
 * fields the Pulumi side gives its hcloud.Server (template labels first, the project's own over them).
 */
export function hcloudCreateSpec(name: string, labels: Labels, template: HcloudTemplate): ServerCreateSpec {
  return {
    name,
    labels: { ...template.labels, ...labels },
    serverType: template.serverType,
    location: template.location,
    image: template.snapshot,
    ...(template.sshKeys ? { sshKeys: template.sshKeys } : {}),
    ...(template.userData === undefined ? {} : { userData: template.userData }),
    ...(template.firewallIds ? { firewallIds: template.firewallIds } : {}),
    ...(template.networks ? { networkIds: template.networks.map((network) => network.networkId) } : {}),
    ...(template.placementGroupId === undefined ? {} : { placementGroupId: template.placementGroupId }),
    ...(template.publicIpv4 === undefined ? {} : { publicIpv4: template.publicIpv4 }),
    ...(template.publicIpv6 === undefined ? {} : { publicIpv6: template.publicIpv6 }),
  };
}
