#!/usr/bin/env node
// Entry point of the `dynamic-servers` command. The sources are TypeScript run by Node's own type stripping,
// which needs Node 22.18 or newer; npm scripts and npx use the Node pinned in package.json.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `dynamic-servers needs Node 22.18 or newer (this is ${process.version}). Run it through npm, e.g. \`npx dynamic-servers\`, to use the project's pinned Node.\n`,
  );
  process.exit(3);
}
await import('../src/cli/main.ts');
