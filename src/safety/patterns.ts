/**
 * Well-known secret formats the output scanner redacts (documented in docs/redaction.md).
 *
 * Speed comes from the prefilter: every pattern names the `prefix` a match starts with,
 * and all prefixes are found in one regex scan; the full sticky `regex` runs only there.
 * To keep that scan fast on ordinary text, a prefix is either `anchored` — it ends in one
 * of the rarer characters `-`, `_`, `J`, `A` (or in `.slack.com/`) and is checked by a
 * lookbehind only when the scan meets that character — or it starts with a rare literal
 * (`A…`, `-----BEGIN `). A named group `s`, when present, is the part to redact (the key
 * context around it stays).
 */
export interface SecretPattern {
  kind: string;
  description: string;
  /** Regex source of how a match starts (no capturing groups). */
  prefix: string;
  /** True: `prefix` ends with an anchor character (see above); false: it starts with a rare literal. */
  anchored: boolean;
  /** Flags must include 'y' (sticky) and, when it has a group `s`, 'd' (indices). */
  regex: RegExp;
  /** Extra check on the redacted text to keep ordinary words out. */
  validate?: (secret: string) => boolean;
}

const mixedAlnum = (s: string): boolean => /[0-9]/.test(s) && /[a-z]/.test(s) && /[A-Z]/.test(s);

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    kind: 'aws-access-key-id',
    description: 'AWS access key id (AKIA…, ASIA…, ABIA…, ACCA…, A3T…)',
    prefix: 'A(?:KIA|SIA|BIA|CCA|3T[A-Z0-9])',
    anchored: false,
    regex: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])/y,
  },
  {
    kind: 'aws-secret-access-key',
    description:
      'AWS secret access key: 40 base64 characters after a key name such as aws_secret_access_key or SecretAccessKey',
    prefix: '[Aa][Ww][Ss]_|[Ss][Ee][Cc][Rr][Ee][Tt]_|[Ss]ecretA',
    anchored: true,
    regex:
      /(?:aws_?secret(?:_?access)?_?key|secret_?access_?key)[\\"']*\s*[:=]\s*[\\"']*(?<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/diy,
  },
  {
    kind: 'github-token',
    description: 'GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)',
    prefix: 'gh[pousr]_|github_pat_',
    anchored: true,
    regex: /(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})/y,
  },
  {
    kind: 'gitlab-token',
    description: 'GitLab personal, deploy or runner token (glpat-, gldt-, glrt-)',
    prefix: 'gl(?:pat|dt|rt)-',
    anchored: true,
    regex: /gl(?:pat|dt|rt)-[A-Za-z0-9_-]{20,}/y,
  },
  {
    kind: 'slack-token',
    description: 'Slack token (xoxa-, xoxb-, xoxp-, xoxr-, xoxs-, xoxe-)',
    prefix: 'xox[abprse]-',
    anchored: true,
    regex: /xox[abprse]-[A-Za-z0-9-]{10,}/y,
  },
  {
    kind: 'slack-webhook',
    description: 'Slack incoming webhook / workflow URL path (hooks.slack.com/services/…)',
    prefix: 'hooks\\.slack\\.com/',
    anchored: true,
    regex: /hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_+-]{20,}/y,
  },
  {
    kind: 'stripe-key',
    description:
      'Stripe secret or restricted key (sk_live_, rk_live_, sk_test_, rk_test_) and webhook secret (whsec_)',
    prefix: '[sr]k_(?:live|test)_|whsec_',
    anchored: true,
    regex: /(?:[sr]k_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{24,})/y,
  },
  {
    kind: 'google-api-key',
    description: 'Google API key (AIza…)',
    prefix: 'AIza',
    anchored: false,
    regex: /AIza[0-9A-Za-z_-]{35}/y,
  },
  {
    kind: 'anthropic-key',
    description: 'Anthropic API key (sk-ant-…)',
    prefix: 'sk-ant-',
    anchored: true,
    regex: /sk-ant-[A-Za-z0-9_-]{20,}/y,
  },
  {
    kind: 'openai-key',
    description: 'OpenAI API key (sk-…, sk-proj-…, sk-svcacct-…; mixed-case letters and digits)',
    prefix: 'sk-',
    anchored: true,
    regex: /(?<![A-Za-z0-9_-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/y,
    validate: mixedAlnum,
  },
  {
    kind: 'npm-token',
    description: 'npm access token (npm_…)',
    prefix: 'npm_',
    anchored: true,
    regex: /npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/y,
  },
  {
    kind: 'private-key',
    description:
      'PEM private key block (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP …), also JSON-escaped or cut off',
    prefix: '-----BEGIN ',
    anchored: false,
    regex:
      /-----BEGIN (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]{0,16384}?-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----|(?:[A-Za-z0-9+/=\s:,.-]|\\[nrt])*)/y,
  },
  {
    kind: 'jwt',
    description: 'JSON Web Token: three base64url parts, the header starting eyJ',
    prefix: 'eyJ',
    anchored: true,
    regex:
      /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.(?:eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*|[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{16,})/y,
  },
];

/** Kind used for vault values. */
export const VAULT_KIND = 'vault';
