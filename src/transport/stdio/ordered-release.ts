/**
 * Keeps one direction of a stdio relay in order while governance runs concurrently: every
 * incoming message takes a ticket, and tickets are released (their output written) in
 * arrival order. A ticket whose call is held for approval steps out of the line, so a held
 * call never blocks the traffic behind it; it is released on its own when decided.
 */
export interface Ticket {
  /** The call is waiting for a human: let later tickets pass. */
  hold(): void;
  /** Governance is done: run `release` now if it is this ticket's turn, else when it is. */
  settle(release: () => void): void;
}

interface Slot {
  state: 'waiting' | 'held' | 'ready' | 'detached';
  release?: () => void;
}

export class OrderedRelease {
  private queue: Slot[] = [];
  private head = 0;
  private unsettled = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly onRelease: () => void;

  /** `onRelease` runs after each batch of releases (e.g. to re-check flow control). */
  constructor(onRelease: () => void = () => undefined) {
    this.onRelease = onRelease;
  }

  /** Tickets in line (held ones that stepped out are not counted). */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** Tickets not yet settled, held ones included. */
  get inFlight(): number {
    return this.unsettled;
  }

  open(): Ticket {
    const slot: Slot = { state: 'waiting' };
    this.queue.push(slot);
    this.unsettled++;
    let settled = false;
    return {
      hold: () => {
        if (slot.state !== 'waiting') return;
        slot.state = 'held';
        this.flush();
      },
      settle: (release) => {
        if (settled) return;
        settled = true;
        if (slot.state === 'detached') {
          this.runSafely(release);
        } else {
          slot.state = 'ready';
          slot.release = release;
          this.flush();
        }
        this.unsettled--;
        this.onRelease();
        if (this.unsettled === 0) for (const w of this.idleWaiters.splice(0)) w();
      },
    };
  }

  /** Resolves when every ticket opened so far has been settled and released. */
  idle(): Promise<void> {
    if (this.unsettled === 0) return Promise.resolve();
    return new Promise((res) => this.idleWaiters.push(res));
  }

  private flush(): void {
    while (this.head < this.queue.length) {
      const slot = this.queue[this.head]!;
      if (slot.state === 'waiting') break;
      this.head++;
      if (slot.state === 'held') slot.state = 'detached';
      else if (slot.release) {
        const release = slot.release;
        delete slot.release;
        this.runSafely(release);
      }
    }
    // Compact now and then so the array does not grow with the number of messages ever seen.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private runSafely(release: () => void): void {
    try {
      release();
    } catch {
      // A release writes to a stream; a failing stream is reported by its own error event.
    }
  }
}
