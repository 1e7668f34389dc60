/** The bench's command line: `node dist/scripts/bench/index.js --help`. */
import { parseArgs } from 'node:util';

export const PHASES = ['latency', 'throughput', 'sse', 'first-host', 'big'] as const;
export type Phase = (typeof PHASES)[number];

const USAGE = `usage: node dist/scripts/bench/index.js [--quick] [--out FILE] [--no-mitm] [--cpu-prof DIR]
       [--phases ${PHASES.join(',')}] [--heap-sample DIR] [--gov-node-flags=FLAGS]
       [--only startup|held]
`;

export interface BenchOptions {
  quick: boolean;
  out: string | undefined;
  noMitm: boolean;
  cpuProf: string | undefined;
  heapSample: string | undefined;
  /** Extra Node/V8 flags for the main gov process only. */
  govNodeFlags: string[];
  /** Only these load phases (all when absent). */
  phases: Phase[] | undefined;
  only: 'startup' | 'held' | undefined;
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

/** Parse process.argv; a bad option prints why and the usage, and exits 2. */
export function benchOptions(): BenchOptions {
  let values;
  try {
    values = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        out: { type: 'string' },
        'no-mitm': { type: 'boolean', default: false },
        'cpu-prof': { type: 'string' },
        'heap-sample': { type: 'string' },
        'gov-node-flags': { type: 'string' },
        phases: { type: 'string' },
        only: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const phases = values.phases?.split(',');
  const unknown = phases?.find((p) => !(PHASES as readonly string[]).includes(p));
  if (unknown !== undefined) fail(`unknown phase '${unknown}'`);
  const only = values.only;
  if (only !== undefined && only !== 'startup' && only !== 'held') {
    fail(`--only takes 'startup' or 'held', not '${only}'`);
  }
  return {
    quick: values.quick === true,
    out: values.out,
    noMitm: values['no-mitm'] === true,
    cpuProf: values['cpu-prof'],
    heapSample: values['heap-sample'],
    govNodeFlags: values['gov-node-flags']?.split(' ').filter((f) => f !== '') ?? [],
    phases: phases as Phase[] | undefined,
    only,
  };
}
