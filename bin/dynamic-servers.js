#!/usr/bin/env node
// Entry point of the `dynamic-servers` command. In a checkout it runs the TypeScript sources through Node's own type
// stripping; in an install (where Node refuses to strip types under node_modules) the package ships no sources and
// it runs the JavaScript that `npm pack` compiled into dist/. The sources win whenever they are there, so a dist/
// left behind in a checkout is never run. Both need Node 22.18 or newer; npm scripts and npx use the Node pinned in
// package.json (node_modules/.bin/node). This check is the one place that refuses an older Node: package.json
// declares no `engines`, because npm would check it against the Node running npm (any Node 20+ is fine for that)
// and warn on every first `npx`.
import { existsSync } from 'node:fs';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `dynamic-servers needs Node 22.18 or newer, and ${process.execPath} is ${process.version}. ` +
      'Run `npm install` in the project (it installs the pinned Node into node_modules/.bin), then `npx dynamic-servers ...`, which runs on that Node; ' +
      'outside a project, bring a Node along: `npx -p node@24 -p dynamic-servers dynamic-servers init my-deployment`.\n',
  );
  process.exit(3);
}
const source = new URL('../src/cli/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/src/cli/main.js', import.meta.url).href);
