// A throwaway project directory next to the real one: its own Pulumi.yaml and stacks/, sharing the sources and
// node_modules by symbolic links, so stack init (which writes a salt into the stack file) never touches stacks/
// of the checkout.
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-layout.ts';

/** The checkout this module belongs to: where Pulumi.yaml, stacks/, src/ and node_modules are. */
export const CHECKOUT_DIR = PACKAGE_ROOT;

/**
 * Creates a project in `projectDir` (which must not exist yet or be empty): Pulumi.yaml copied from `checkoutDir`,
 * links to its package.json, node_modules, bin, src and providers (so `npx dynamic-servers` works there too), and
 * `stacks/Pulumi.<type>.yaml` with the given text for each entry of `stackFiles`.
 */
export async function createScratchProject(projectDir: string, stackFiles: Record<string, string>, checkoutDir = CHECKOUT_DIR): Promise<void> {
  await mkdir(join(projectDir, 'stacks'), { recursive: true });
  await copyFile(join(checkoutDir, 'Pulumi.yaml'), join(projectDir, 'Pulumi.yaml'));
  for (const entry of ['package.json', 'node_modules', 'bin', 'src', 'providers']) await symlink(join(checkoutDir, entry), join(projectDir, entry));
  for (const [serverType, text] of Object.entries(stackFiles)) await writeFile(join(projectDir, 'stacks', `Pulumi.${serverType}.yaml`), text);
}
