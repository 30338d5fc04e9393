// A throwaway project directory next to the real one: its own Pulumi.yaml and stacks/, sharing the package and
// node_modules by symbolic links, so stack init (which writes a salt into the stack file) never touches stacks/
// of the checkout or of the user's project.
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PULUMI_YAML } from '../init/project-files.ts';
import { PACKAGE_ROOT, RUNS_FROM_SOURCE } from '../package-layout.ts';

/** The checkout (or the install) this module belongs to: where package.json and stacks/Pulumi.demo.yaml are. */
export const CHECKOUT_DIR = PACKAGE_ROOT;

/**
 * Creates a project in `projectDir` (which must not exist yet or be empty) with `stacks/Pulumi.<type>.yaml` holding
 * the given text for each entry of `stackFiles`. From a checkout: Pulumi.yaml copied from `checkoutDir`, and links
 * to its package.json, node_modules, bin, src and providers (so `npx dynamic-servers` works there too). From an
 * install: the Pulumi.yaml `init` writes, and a link to the node_modules this package is installed in, so the
 * project has the package as a user's project has it.
 */
export async function createScratchProject(projectDir: string, stackFiles: Record<string, string>, checkoutDir = CHECKOUT_DIR): Promise<void> {
  await mkdir(join(projectDir, 'stacks'), { recursive: true });
  if (RUNS_FROM_SOURCE) {
    await copyFile(join(checkoutDir, 'Pulumi.yaml'), join(projectDir, 'Pulumi.yaml'));
    for (const entry of ['package.json', 'node_modules', 'bin', 'src', 'providers']) await symlink(join(checkoutDir, entry), join(projectDir, entry));
  } else {
    if (basename(dirname(checkoutDir)) !== 'node_modules') throw new Error(`${checkoutDir} is neither a checkout nor installed in a node_modules directory`);
    await writeFile(join(projectDir, 'Pulumi.yaml'), PULUMI_YAML);
    await symlink(dirname(checkoutDir), join(projectDir, 'node_modules'));
  }
  for (const [serverType, text] of Object.entries(stackFiles)) await writeFile(join(projectDir, 'stacks', `Pulumi.${serverType}.yaml`), text);
}
