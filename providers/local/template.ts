import { z } from 'zod';
import { InvalidRequestError, type SnapshotTemplate } from '../contract.ts';

const templateSchema = z.strictObject({
  /** The snapshot servers boot from: its id or description in the local cloud. */
  snapshot: z.string().min(1),
  /** The local cloud's server size (`server_type` in its API), e.g. `small`. */
  size: z.string().min(1),
  /** The location; the cloud's first one when absent. */
  location: z.string().min(1).optional(),
});

/** A snapshot template of the local cloud: `{ snapshot, size, location? }`, nothing else. */
export type LocalTemplate = z.infer<typeof templateSchema>;

/** `template` as a LocalTemplate; throws InvalidRequestError naming each bad or unknown field. */
export function parseLocalTemplate(template: SnapshotTemplate): LocalTemplate {
  const parsed = templateSchema.safeParse(template);
  if (!parsed.success) throw new InvalidRequestError(`invalid local cloud snapshot template: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
