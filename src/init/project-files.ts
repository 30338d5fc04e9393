// What `dynamic-servers init` writes: a deployment project that depends on this package and runs its stack program
// from node_modules, one example server type per built-in provider, a determineServerCount example, and the
// TypeScript settings its scripts are checked with. Texts only: writing them is init-project.ts's job.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PACKAGE_ROOT } from '../package-layout.ts';

/** The stack program inside an installed copy of this package (what `npm pack` compiles src/engine/stack-program.ts to). */
export const INSTALLED_STACK_PROGRAM = 'dist/src/engine/stack-program.js';

/** The example server types init writes, one per built-in provider, each in `stacks/Pulumi.<type>.yaml`. */
export const EXAMPLE_TYPES = { local: 'local-worker', hcloud: 'hcloud-worker', aws: 'aws-worker' } as const;

interface OwnManifest {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

function ownManifest(): OwnManifest {
  return JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as OwnManifest;
}

/** An npm package name made from a directory's name (lowercase, dashes), `deployment` when nothing is left. */
export function projectNameOf(dir: string): string {
  const name = basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+|[-]+$/g, '');
  return name || 'deployment';
}

function packageJson(projectName: string): string {
  const own = ownManifest();
  return `${JSON.stringify(
    {
      name: projectName,
      private: true,
      type: 'module',
      scripts: {
        validate: 'dynamic-servers validate',
        worker: 'dynamic-servers worker --monitor ./count.ts',
        typecheck: 'tsc --noEmit',
      },
      dependencies: {
        [own.name]: `^${own.version}`,
        // The Node the command, the engine's plugins and the scripts run on (node_modules/.bin/node), whatever the
        // machine's own Node is: the same pinned Node this package is developed on.
        node: own.devDependencies.node,
      },
      devDependencies: {
        '@types/node': own.devDependencies['@types/node'],
        typescript: own.devDependencies.typescript,
      },
    },
    null,
    2,
  )}\n`;
}

/** The Pulumi.yaml of a project that has this package installed in its node_modules. */
export const PULUMI_YAML = `name: dynamic-servers
description: One stack per server type (stacks/Pulumi.<type>.yaml); \`pulumi preview --stack <type>\` shows what the next reconcile would change.
runtime:
  name: nodejs
  options:
    # The package's compiled program runs on the project's pinned Node (node_modules/.bin/node).
    typescript: false
main: node_modules/dynamic-servers/${INSTALLED_STACK_PROGRAM}
stackConfigDir: stacks
`;

/** The commands that put a secret into a stack file as a `secure:` value (the passphrase encrypts it). */
function secretCommands(key: string, serverType: string): string[] {
  return [
    'mkdir -p .data/state && export PULUMI_BACKEND_URL="file://$PWD/.data/state"',
    'export PATH="$(npx dynamic-servers toolchain path):$PATH"',
    `pulumi stack select --create ${serverType} && pulumi config set --secret ${key} --stack ${serverType}   # asks for the value`,
  ];
}

const LOCAL_STACK = `# Server type "${EXAMPLE_TYPES.local}" on the local cloud, which runs on this machine: \`npx dynamic-servers local-cloud\`
# prints its address; export it as LOCAL_CLOUD_ENDPOINT (or set local:endpoint here). A cloud started with a token
# (LOCAL_CLOUD_TOKEN) needs it here as a secret:
${secretCommands('local:token', EXAMPLE_TYPES.local).map((line) => `#   ${line}`).join('\n')}
config:
  dynamic-servers:provider: local
  dynamic-servers:template:
    snapshot: base-snapshot
    size: small
  dynamic-servers:maxServers: 10
  dynamic-servers:bootTimeoutSeconds: 120
`;

const HCLOUD_STACK = `# Server type "${EXAMPLE_TYPES.hcloud}" on Hetzner Cloud, from the newest snapshot labelled role=worker. Its API token is a
# secret: never write it here in plain text. These commands (in this directory, PULUMI_CONFIG_PASSPHRASE set) add
# \`hcloud:token: { secure: v1:... }\` below:
${secretCommands('hcloud:token', EXAMPLE_TYPES.hcloud).map((line) => `#   ${line}`).join('\n')}
config:
  dynamic-servers:provider: hcloud
  dynamic-servers:template:
    snapshot:
      selector:
        role: worker
    serverType: cx22
    location: fsn1
  dynamic-servers:maxServers: 20
  dynamic-servers:bootTimeoutSeconds: 300
`;

const AWS_STACK = `# Server type "${EXAMPLE_TYPES.aws}" on AWS EC2, from the newest AMI tagged role=worker. Credentials come only from the
# standard AWS chain (AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, an instance role), never from this file.
config:
  dynamic-servers:provider: aws
  dynamic-servers:template:
    ami:
      selector:
        role: worker
    instanceType: t3.small
  aws:region: eu-central-1
  dynamic-servers:maxServers: 20
  dynamic-servers:bootTimeoutSeconds: 300
`;

const COUNT_TS = `// determineServerCount: every worker started with \`--monitor ./count.ts\` (see \`npm run worker\`) calls it for each
// server type every minute. A number is applied with ensure(type, n); anything else leaves the type alone; a throw
// is logged and changes nothing. Try one tick by hand: npx dynamic-servers monitor --monitor ./count.ts
// Replace the body with a look at your queue (the README of dynamic-servers has one on PostgreSQL).

/** How many servers of \`serverType\` should run now, or undefined to leave the type alone. */
export async function determineServerCount(serverType: string): Promise<number | undefined> {
  if (serverType !== '${EXAMPLE_TYPES.local}') return undefined;
  const waiting = process.env.WAITING_JOBS; // say, the number of jobs waiting in your queue
  if (waiting === undefined || !/^\\d+$/.test(waiting)) return undefined;
  return Math.min(10, Math.ceil(Number(waiting) / 200));
}
`;

const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2024',
      lib: ['ES2024'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      types: ['node'],
      strict: true,
      noEmit: true,
      // Scripts run as they are on the pinned Node, which strips the types: only erasable syntax.
      erasableSyntaxOnly: true,
      verbatimModuleSyntax: true,
      allowImportingTsExtensions: true,
      allowJs: true,
      checkJs: true,
      skipLibCheck: true,
    },
    exclude: ['node_modules', '.data'],
  },
  null,
  2,
)}\n`;

const GITIGNORE = `node_modules/
# The default state backend of the stacks (file://.data/state) and the engine's files: they live where the workers
# run, or in a shared backend (PULUMI_BACKEND_URL), never in git.
.data/
# Secrets and settings of this machine.
.env
.env.*
*.log
`;

/** Every file of a new deployment project named `projectName`, by its path relative to the project. */
export function projectFiles(projectName: string): Record<string, string> {
  return {
    'package.json': packageJson(projectName),
    'Pulumi.yaml': PULUMI_YAML,
    [`stacks/Pulumi.${EXAMPLE_TYPES.local}.yaml`]: LOCAL_STACK,
    [`stacks/Pulumi.${EXAMPLE_TYPES.hcloud}.yaml`]: HCLOUD_STACK,
    [`stacks/Pulumi.${EXAMPLE_TYPES.aws}.yaml`]: AWS_STACK,
    'count.ts': COUNT_TS,
    'tsconfig.json': TSCONFIG,
    '.gitignore': GITIGNORE,
  };
}

/** What to do after init in `dir` (as the user named it), one line each. */
export function nextSteps(dir: string): string[] {
  return [
    `cd ${dir} && npm install`,
    'Keep the stack files of the clouds you use (stacks/), and check them: npx dynamic-servers validate',
    'Point the project at its PostgreSQL database and pick the passphrase that encrypts the stacks\' secrets:',
    '  export DATABASE_URL=postgres://... PULUMI_CONFIG_PASSPHRASE=...',
    `Secrets go into the stack files only as secure: values (hcloud:token of ${EXAMPLE_TYPES.hcloud}):`,
    ...secretCommands('hcloud:token', EXAMPLE_TYPES.hcloud).map((line) => `  ${line}`),
    `To try it on this machine: npx dynamic-servers local-cloud (another terminal), then export LOCAL_CLOUD_ENDPOINT=<the address it printed>`,
    'Start a worker (it publishes stacks/ to the database, then applies every change): npm run worker',
    `Ask for servers from a script: (await DynamicServers.open({ databaseUrl })).ensure('${EXAMPLE_TYPES.local}', 2)`,
  ];
}
