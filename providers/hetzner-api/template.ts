// Reading a provider's snapshot template with its zod schema, for the providers on the Hetzner API (hcloud, local).
import { z } from 'zod';
import { InvalidRequestError, type SnapshotTemplate } from '../contract.ts';

/** `template` read with `schema`; throws InvalidRequestError naming every bad or unknown field of the `cloudName` template. */
export function parseTemplate<T>(schema: z.ZodType<T, SnapshotTemplate>, template: SnapshotTemplate, cloudName: string): T {
  const parsed = schema.safeParse(template);
  if (!parsed.success) throw new InvalidRequestError(`invalid ${cloudName} snapshot template: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
