import { closeSync, openSync, writeSync } from 'node:fs';
import { AsyncQueue } from '@binhost/shared';

/** How many of the last log lines a build keeps for its error and `Build.logTail`. */
const LOG_TAIL_LINES = 40;

/** A follower's view of a live log: the lines already written, then a queue of new ones. */
export interface LogSubscription {
  /** Lines written before the subscription, read from the file: exactly this many. */
  readonly linesBefore: number;
  readonly queue: AsyncQueue<string>;
  unsubscribe(): void;
}

/**
 * The log file of one running build. Lines are appended with synchronous writes, so whatever a
 * follower reads from the file is exactly the lines counted so far; it then takes new lines
 * from its queue, with none lost or repeated in between. emerge's lines are short and the file
 * is local, so the blocking write costs microseconds.
 */
export class BuildLogWriter {
  private fd: number | undefined;
  private count = 0;
  private readonly tailLines: string[] = [];
  private readonly followers = new Set<AsyncQueue<string>>();

  constructor(readonly file: string) {
    this.fd = openSync(file, 'a', 0o640);
  }

  /** Appends one line (newline added) and hands it to every follower. */
  write(line: string): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, line + '\n');
    this.count += 1;
    this.tailLines.push(line);
    if (this.tailLines.length > LOG_TAIL_LINES) this.tailLines.shift();
    for (const q of this.followers) q.push(line);
  }

  /** The last {@link LOG_TAIL_LINES} lines. */
  tail(): string[] {
    return [...this.tailLines];
  }

  get lineCount(): number {
    return this.count;
  }

  /** Subscribes to new lines; read the first `linesBefore` lines of the file before draining. */
  subscribe(): LogSubscription {
    const queue = new AsyncQueue<string>();
    this.followers.add(queue);
    return {
      linesBefore: this.count,
      queue,
      unsubscribe: () => {
        queue.close();
        this.followers.delete(queue);
      },
    };
  }

  /** Closes the file and ends every follower's queue (they then send the finished build). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    for (const q of this.followers) q.close();
    this.followers.clear();
  }
}
