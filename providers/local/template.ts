// The snapshot template of a local cloud server type, and the create request it makes.
import { z } from 'zod';
import { templateOfferings, type Labels, type Offering, type SnapshotTemplate } from '../contract.ts';
import type { ServerCreateSpec } from '../hetzner-api/client.ts';
import { parseTemplate } from '../hetzner-api/template.ts';

const templateSchema = z.strictObject({
  /** The snapshot servers boot from: its id, or its description (the newest available snapshot that has it). */
  snapshot: z.string().min(1),
  /** The local cloud's server size (`server_type` in its API), e.g. `small`. */
  size: z.string().min(1),
  /** The location; the cloud's first one when absent. */
  location: z.string().min(1).optional(),
  /** Other offerings in order of preference, each another size, location or both, tried when the cloud has no room. */
  fallbacks: z
    .array(
      z.strictObject({ size: z.string().min(1).optional(), location: z.string().min(1).optional() }).refine((entry) => entry.size !== undefined || entry.location !== undefined, 'a fallback names a size, a location or both'),
    )
    .min(1)
    .optional(),
});

/** A snapshot template of the local cloud: `{ snapshot, size, location? }`, nothing else. */
export type LocalTemplate = z.infer<typeof templateSchema>;

/** `template` as a LocalTemplate; throws InvalidRequestError naming each bad or unknown field. */
export function parseLocalTemplate(template: SnapshotTemplate): LocalTemplate {
  return parseTemplate(templateSchema, template, 'local cloud');
}

/**
 * The offerings of a local cloud template: its own size and location, then each fallback's, named `size@location`
 * (just `size` without a location: the cloud's first location). Throws InvalidRequestError for a bad template.
 */
export function localOfferings(template: SnapshotTemplate): Offering[] {
  parseLocalTemplate(template);
  return templateOfferings(template, (offering) => (offering.location === undefined ? String(offering.size) : `${String(offering.size)}@${String(offering.location)}`));
}

/** What `POST /servers` needs to create server `name` with `labels` from `template` (a snapshot named by digits is an id). */
export function localCreateSpec(name: string, labels: Labels, template: LocalTemplate): ServerCreateSpec {
  return {
    name,
    labels,
    serverType: template.size,
    image: /^\d+$/.test(template.snapshot) ? { id: template.snapshot } : { description: template.snapshot },
    ...(template.location === undefined ? {} : { location: template.location }),
  };
}
