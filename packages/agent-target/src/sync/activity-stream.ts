import { callClientStream, errorMessage, type Logger, type StreamActivityRequest, type TargetServiceClient } from '@binhost/shared';

type Activity = NonNullable<StreamActivityRequest['activity']>;

/**
 * The live side channel of one sync (StreamActivity): output lines, plan, stages, transfer
 * progress. Best effort: when the host is gone the lines are dropped (the log tail still goes
 * with the install report), and the sync itself never waits for it.
 */
export class ActivityStream {
  private writer: ReturnType<typeof callClientStream<StreamActivityRequest, unknown>> | undefined;
  private broken = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    client: TargetServiceClient | undefined,
    private readonly requestId: string,
    private readonly log: Logger,
  ) {
    if (!client) return;
    try {
      // a whole install can take hours; the stream lives as long as the sync
      this.writer = callClientStream(client.streamActivity.bind(client), { deadlineMs: 24 * 3600_000 });
    } catch (err) {
      this.fail(err);
    }
  }

  send(activity: Activity): void {
    const writer = this.writer;
    if (!writer || this.broken) return;
    this.chain = this.chain.then(() => writer.write({ requestId: this.requestId, activity })).catch((err) => this.fail(err));
  }

  async close(): Promise<void> {
    await this.chain;
    if (this.writer && !this.broken) await this.writer.finish().catch((err) => this.fail(err));
  }

  private fail(err: unknown): void {
    if (!this.broken) this.log.debug({ err: errorMessage(err) }, 'activity stream dropped');
    this.broken = true;
    this.writer?.cancel();
  }
}
