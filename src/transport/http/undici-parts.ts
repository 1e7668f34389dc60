/**
 * The parts of undici gov uses (see `Upstream`), as one module: undici's entry point also
 * loads fetch, WebSocket, the cache and mock layers, which gov does not use. scripts/bundle.mjs
 * bundles this module into dist/bundle/undici.cjs, which gov loads with a V8 code cache of its
 * own on Node 20 (bin/load-bundle.js): from node_modules, undici's 25 files cost each process
 * about 40 ms of CPU to resolve, read and compile before its first upstream request.
 */
import Agent from 'undici/lib/dispatcher/agent.js';
import errors from 'undici/lib/core/errors.js';
import request from 'undici/lib/api/api-request.js';
import buildConnector from 'undici/lib/core/connect.js';

export { Agent, errors, request, buildConnector };
