// gov preload: make Node's global fetch honour HTTP(S)_PROXY (Node 20 ignores them).
// Loaded into governed Node children through NODE_OPTIONS=--require; resolves undici from
// gov's own installation, never from the child's.
'use strict';
try {
  const undici = require('undici');
  if (typeof undici.EnvHttpProxyAgent === 'function' && typeof undici.setGlobalDispatcher === 'function') {
    undici.setGlobalDispatcher(new undici.EnvHttpProxyAgent());
  }
} catch (err) {
  if (process.env.GOV_DEBUG === '1') {
    process.stderr.write(
      'gov preload: cannot install the proxy dispatcher: ' + String(err && err.message) + '\n',
    );
  }
}
