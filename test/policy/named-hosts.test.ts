import { describe, expect, it } from 'vitest';
import { loadPolicyFromText } from '../../src/policy/load.js';

describe('named HTTPS hosts (leaves prepared before the first request)', () => {
  it('takes literal hosts from servers: and https credentials:, skipping globs and plain http', () => {
    const policy = loadPolicyFromText(
      `version: 1
servers:
  github: https://api.githubcopilot.com/mcp/*
  internal: [https://mcp.internal:8443/*, "https://*.corp.example/*", http://plain.example/*]
credentials:
  - secret: gh
    hosts: [api.github.com, "*.example.com", "[::1]:9443"]
  - secret: local
    hosts: [dev.local:8080]
    scheme: http
`,
      'test.yaml',
    );
    expect(policy.namedHttpsHosts.sort()).toEqual(
      ['::1', 'api.github.com', 'api.githubcopilot.com', 'mcp.internal'].sort(),
    );
  });

  it('is empty for a policy that names no hosts', () => {
    expect(loadPolicyFromText('version: 1\n', 'test.yaml').namedHttpsHosts).toEqual([]);
  });
});
