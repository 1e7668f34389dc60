// gov preload: route a governed Node child's HTTP(S) through gov's proxy, whatever the Node
// version. Loaded through NODE_OPTIONS=--require; takes undici from gov's own installation,
// never from the child's.
// - fetch: Node 20 ignores the proxy variables, so undici's EnvHttpProxyAgent becomes the
//   global dispatcher (Node 22's fetch honours it too).
// - node:http / node:https (and got, node-fetch, older SDKs built on them): every Agent opens
//   its connection through a CONNECT tunnel to the proxy. Patching the Agent prototypes (not
//   only the global agents) covers `agent: false` and agents a library creates itself.
// NO_PROXY is honoured the way undici's EnvHttpProxyAgent reads it, so both paths agree.
'use strict';
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const path = require('node:path');

function debug(what, err) {
  if (process.env.GOV_DEBUG === '1') {
    process.stderr.write('gov preload: ' + what + ': ' + String(err && err.message) + '\n');
  }
}

// undici takes longer to load than a small program takes to run, so it is loaded when a
// request is first dispatched, not at start-up. Until then the global dispatcher is a stand-in
// that creates the proxy agent on first use. Nothing is loaded while the dispatcher is merely
// read: Node 22 reads it while it lazily defines `Headers`, `Request` and friends, and loading
// undici there (which touches those globals) aborts V8 ("Check failed: ACCESSOR").
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
let proxyAgent;
function agent() {
  if (!proxyAgent) {
    // undici's EnvHttpProxyAgent alone, bundled, with a code cache of its own on Node 20
    // (scripts/bundle.mjs): undici's entry point cost a child's first request about 150 ms.
    const root = path.join(__dirname, '..');
    const { requireBundle } = require(path.join(root, 'bin', 'load-bundle.js'));
    const EnvHttpProxyAgent = requireBundle(path.join(root, 'dist', 'bundle', 'env-proxy-agent.cjs'));
    proxyAgent = new EnvHttpProxyAgent();
  }
  return proxyAgent;
}
const lazyDispatcher = new Proxy(Object.create(null), {
  get(_target, prop) {
    const a = agent();
    const v = Reflect.get(a, prop, a);
    return typeof v === 'function' ? v.bind(a) : v;
  },
  has: (_target, prop) => prop in agent(),
  getPrototypeOf: () => Object.getPrototypeOf(agent()),
});
if (!Object.getOwnPropertyDescriptor(globalThis, GLOBAL_DISPATCHER)) {
  const settle = (value) =>
    Object.defineProperty(globalThis, GLOBAL_DISPATCHER, {
      value,
      writable: true,
      enumerable: false,
      configurable: false,
    });
  Object.defineProperty(globalThis, GLOBAL_DISPATCHER, {
    configurable: true,
    enumerable: false,
    // The first read (fetch, WebSocket, undici loading) gets the stand-in: the proxy agent.
    get() {
      settle(lazyDispatcher);
      return lazyDispatcher;
    },
    // Someone else's dispatcher set first wins, as it would without the preload.
    set: settle,
  });
}

function envProxy(names) {
  for (const n of names) {
    const v = process.env[n];
    if (v) {
      try {
        return new URL(v);
      } catch (err) {
        debug('ignoring ' + n, err);
      }
    }
  }
  return undefined;
}

const noProxyText = process.env.no_proxy || process.env.NO_PROXY || '';
const noProxy = noProxyText
  .split(/[,\s]/)
  .filter(Boolean)
  .map((entry) => {
    const m = /^(.+):(\d+)$/.exec(entry);
    return { host: (m ? m[1] : entry).toLowerCase(), port: m ? Number(m[2]) : 0 };
  });

function bypass(host, port) {
  if (noProxyText.trim() === '*') return true;
  const h = String(host)
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return noProxy.some((e) => {
    if (e.port && e.port !== port) return false;
    if (!/^[.*]/.test(e.host)) return h === e.host;
    return h.endsWith(e.host.replace(/^\*/, ''));
  });
}

function isProxyItself(proxy, host, port) {
  const proxyPort = Number(proxy.port) || 80;
  const h = String(host).replace(/^\[|\]$/g, '');
  return port === proxyPort && h === proxy.hostname.replace(/^\[|\]$/g, '');
}

/** Open a CONNECT tunnel through `proxy` to host:port; `cb(err, socket)` once it is through. */
function openTunnel(proxy, host, port, cb) {
  const authority = (net.isIPv6(host) ? '[' + host + ']' : host) + ':' + port;
  const sock = net.connect({ host: proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(proxy.port) || 80 });
  let head = Buffer.alloc(0);
  const fail = (err) => {
    sock.destroy();
    cb(err);
  };
  const onData = (chunk) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > 16384) fail(new Error('gov proxy: CONNECT answer too long'));
      return;
    }
    sock.removeListener('data', onData);
    sock.removeListener('error', fail);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.subarray(0, end).toString('latin1'));
    if (!status || status[1] !== '200') {
      fail(
        new Error(
          'gov proxy refused CONNECT ' +
            authority +
            ': ' +
            head.subarray(0, end).toString('latin1').split('\r\n')[0],
        ),
      );
      return;
    }
    const rest = head.subarray(end + 4);
    if (rest.length) sock.unshift(rest);
    cb(null, sock);
  };
  sock.on('data', onData);
  sock.once('error', fail);
  sock.once('connect', () => {
    let req = 'CONNECT ' + authority + ' HTTP/1.1\r\nHost: ' + authority + '\r\n';
    if (proxy.username || proxy.password) {
      const cred = decodeURIComponent(proxy.username) + ':' + decodeURIComponent(proxy.password);
      req += 'Proxy-Authorization: Basic ' + Buffer.from(cred).toString('base64') + '\r\n';
    }
    sock.write(req + '\r\n');
  });
}

function tunnelled(AgentClass, proxy, defaultPort, connectThrough) {
  const original = AgentClass.prototype.createConnection;
  AgentClass.prototype.createConnection = function (options, cb) {
    if (!proxy || typeof cb !== 'function' || options === null || typeof options !== 'object') {
      return original.apply(this, arguments);
    }
    const host = options.host || options.hostname || 'localhost';
    const port = Number(options.port) || defaultPort;
    if (options.socketPath || bypass(host, port) || isProxyItself(proxy, host, port)) {
      return original.apply(this, arguments);
    }
    openTunnel(proxy, host, port, (err, sock) => {
      if (err) return cb(err);
      if (!connectThrough) return cb(null, sock);
      try {
        cb(null, connectThrough.call(this, original, options, sock));
      } catch (e) {
        sock.destroy();
        cb(e);
      }
    });
    return undefined;
  };
}

try {
  tunnelled(http.Agent, envProxy(['http_proxy', 'HTTP_PROXY']), 80, null);
  // https.Agent's own createConnection does the TLS handshake (SNI, session cache) over the
  // tunnel when handed the tunnel as `socket`.
  tunnelled(https.Agent, envProxy(['https_proxy', 'HTTPS_PROXY']), 443, function (original, options, sock) {
    return original.call(this, Object.assign({}, options, { socket: sock }));
  });
} catch (err) {
  debug('cannot route node:http/node:https through the proxy', err);
}

// Grandchildren. A program that starts a child with an environment of its own making (the MCP
// SDK's stdio client passes only HOME, LOGNAME, PATH, SHELL, TERM and USER, e.g. to
// `mcp-remote`) would drop gov's variables: that child's traffic would bypass the proxy, and
// under --isolate it would be captured but reject gov's certificate (Node trusts only its own
// roots). So gov's variables are carried into every child started through child_process's
// asynchronous API (spawn, exec, execFile, fork: what cross-spawn, execa and the SDK use) whose
// environment lacks them. A value the program set itself wins.
function govVariables() {
  const env = process.env;
  if (!env.GOV_RUN_ID) return [];
  // gov gives every proxy variable one URL and every CA-bundle variable one path: naming them
  // by value keeps this file free of a second copy of gov's lists.
  const proxy = env.HTTPS_PROXY;
  const bundle = env.SSL_CERT_FILE;
  return Object.entries(env).filter(
    ([k, v]) =>
      v !== undefined &&
      ((proxy && v === proxy) ||
        (bundle && v === bundle) ||
        k === 'NODE_EXTRA_CA_CERTS' ||
        k === 'GOV_RUN_ID' ||
        k.toLowerCase() === 'no_proxy'),
  );
}

const carried = govVariables();
const self = module.filename;
const requireSelf = '--require ' + (/[\s"\\]/.test(self) ? JSON.stringify(self) : self);

function withGovVariables(envPairs) {
  const names = new Set();
  let nodeOptionsAt = -1;
  envPairs.forEach((pair, i) => {
    const name = String(pair).split('=', 1)[0];
    names.add(name);
    if (name === 'NODE_OPTIONS') nodeOptionsAt = i;
  });
  const out = envPairs.slice();
  for (const [k, v] of carried) if (!names.has(k)) out.push(k + '=' + v);
  if (nodeOptionsAt < 0) out.push('NODE_OPTIONS=' + requireSelf);
  else if (!out[nodeOptionsAt].includes(self)) out[nodeOptionsAt] += ' ' + requireSelf;
  return out;
}

if (carried.length > 0) {
  try {
    const { ChildProcess } = require('node:child_process');
    const spawnChild = ChildProcess.prototype.spawn;
    ChildProcess.prototype.spawn = function (options) {
      if (options !== null && typeof options === 'object' && Array.isArray(options.envPairs)) {
        options.envPairs = withGovVariables(options.envPairs);
      }
      return spawnChild.apply(this, arguments);
    };
  } catch (err) {
    debug("cannot carry gov's variables into child processes", err);
  }
}
