#!/usr/bin/env node
// Entry point of the `dynamic-servers` command. The sources are TypeScript run by Node's own type stripping,
// which needs Node 22.18 or newer; npm scripts and npx use the Node pinned in package.json (node_modules/.bin/node).
// This check is the one place that refuses an older Node: package.json declares no `engines`, because npm would
// check it against the Node running npm (any Node 20+ is fine for that) and warn on every first `npx`.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `dynamic-servers needs Node 22.18 or newer, and ${process.execPath} is ${process.version}. ` +
      'Run `npm install` in the project (it installs the pinned Node into node_modules/.bin), then `npx dynamic-servers ...`, which runs on that Node.\n',
  );
  process.exit(3);
}
await import('../src/cli/main.ts');
