import { EventEmitter } from 'node:events';
import type { InstallResult, StreamActivityRequest } from '@binhost/shared';

/** What a target tells the host about a sync while it runs, and how it ended. */
export type ActivityItem =
  | { kind: 'activity'; request: StreamActivityRequest }
  | { kind: 'install'; result: InstallResult };

/**
 * Relays target-side activity (StreamActivity, ReportInstall) to whoever is watching that
 * target, e.g. an admin's `binhostctl emerge`. Nothing is buffered: a watcher sees what happens
 * after it subscribed.
 */
export class ActivityHub {
  private readonly emitter = new EventEmitter<Record<string, [ActivityItem]>>();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(target: string, item: ActivityItem): void {
    this.emitter.emit(target, item);
  }

  /** Calls `listener` for each item of `target` until the returned function is called. */
  watch(target: string, listener: (item: ActivityItem) => void): () => void {
    this.emitter.on(target, listener);
    return () => this.emitter.off(target, listener);
  }
}
