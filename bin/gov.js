#!/usr/bin/env node
import module from 'node:module';

// Node 22.1+ keeps V8's compiled code between runs, which saves most of what is left of
// loading gov's code on every start (docs/performance.md); older Nodes lack the call.
module.enableCompileCache?.();
module.createRequire(import.meta.url)('../dist/bundle/gov.cjs');
