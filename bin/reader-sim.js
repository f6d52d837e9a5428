#!/usr/bin/env node
'use strict';
// Runs the TypeScript sources through ts-node (transpile only) in a checkout, or the
// compiled JavaScript in dist/ where the sources are not shipped: the installed npm package
// (built by prepack) and the Docker image. ts-node is a devDependency for that reason.
const path = require('node:path');
const fs = require('node:fs');

const root = path.join(__dirname, '..');
const source = path.join(root, 'scripts', 'cli.ts');
if (fs.existsSync(source)) {
  require('ts-node').register({
    transpileOnly: true,
    project: path.join(root, 'tsconfig.json'),
  });
  require(source).main(process.argv.slice(2));
} else {
  require(path.join(root, 'dist', 'scripts', 'cli.js')).main(process.argv.slice(2));
}
