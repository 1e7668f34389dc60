import type { GovernedCallEvent } from '../../src/types.js';

/**
 * The last `n` events of a feed (governed calls, pin alerts), recorded from the moment the
 * log is created. `gov run` creates it before the child starts, so what happens while the
 * panel's code loads or the panel mounts (React subscribes only after its first commit) is
 * on screen too. No React here: gov creates it before the terminal UI's code is loaded.
 */
export class RecentLog<T> {
  private items: T[] = [];
  private readonly listeners = new Set<() => void>();
  readonly close: () => void;

  constructor(feed: { subscribe(listener: (e: T) => void): () => void }, n = 5) {
    this.close = feed.subscribe((e) => {
      this.items = [...this.items, e].slice(-n);
      for (const l of this.listeners) l();
    });
  }

  readonly snapshot = (): T[] => this.items;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

export type RecentCallLog = RecentLog<GovernedCallEvent>;
