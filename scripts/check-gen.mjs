#!/usr/bin/env node
// Fails when the committed generated code differs from what `pnpm gen` makes of proto/ now.
import { execFileSync, spawnSync } from 'node:child_process';

const gen = spawnSync('npm', ['run', '--silent', 'gen'], { stdio: 'inherit' });
if (gen.status !== 0) process.exit(gen.status ?? 1);
const diff = execFileSync('git', ['status', '--porcelain', '--', 'packages/shared/src/gen', 'packages/shared/descriptor-set.binpb'], { encoding: 'utf8' });
if (diff.trim()) {
  console.error(`generated code is stale; run "npm run gen" and commit:\n${diff}`);
  process.exit(1);
}
console.log('generated code is up to date');
