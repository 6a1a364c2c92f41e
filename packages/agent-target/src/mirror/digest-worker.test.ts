import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DigestWorker } from './digest-worker.js';

const hex = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

/** Feeds `data` in pieces of varying sizes, as chunks arrive from the network. */
async function feed(job: { update(d: Uint8Array): Promise<void> }, data: Buffer, sizes: number[]): Promise<void> {
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    await job.update(data.subarray(at, at + n));
    at += n;
  }
}

describe('DigestWorker', () => {
  let hasher: DigestWorker | undefined;
  afterEach(async () => hasher?.close());

  it('gives the MD5 and SHA1 of each file, with jobs interleaved through a ring smaller than a chunk', async () => {
    hasher = new DigestWorker(1000); // pieces wrap around the ring and wait for room
    const files = [randomBytes(70_001), randomBytes(5), randomBytes(12_345), Buffer.alloc(0)];
    const results = await Promise.all(
      files.map(async (data, i) => {
        const job = hasher!.start(['md5', 'sha1']);
        await feed(job, data, [1, 4096 + i, 999, 1000, 1001, 65_536]);
        return job.digest();
      }),
    );
    results.forEach((digests, i) => expect(digests).toEqual({ md5: hex('md5', files[i]!), sha1: hex('sha1', files[i]!) }));
  });

  it('keeps hashing the other jobs correctly when one is dropped halfway', async () => {
    hasher = new DigestWorker(4096);
    const kept = randomBytes(50_000);
    const dropped = hasher.start(['sha1']);
    const job = hasher.start(['sha1']);
    await Promise.all([feed(job, kept, [3000]), feed(dropped, randomBytes(20_000), [777]).then(() => dropped.drop())]);
    expect(await job.digest()).toEqual({ sha1: hex('sha1', kept) });
  });

  it('only the index digests it is asked for are computed', async () => {
    hasher = new DigestWorker();
    const job = hasher.start(['md5']);
    await job.update(Buffer.from('hello'));
    expect(await job.digest()).toEqual({ md5: hex('md5', Buffer.from('hello')) });
  });

  it('fails the jobs still running when it is closed, and a new job works afterwards', async () => {
    hasher = new DigestWorker(1024);
    const job = hasher.start(['sha1']);
    const stuck = expect(feed(job, randomBytes(100_000), [100_000])).rejects.toThrow(/closed/);
    await hasher.close();
    await stuck;
    const again = hasher.start(['sha1']);
    await again.update(Buffer.from('x'));
    expect(await again.digest()).toEqual({ sha1: hex('sha1', Buffer.from('x')) });
  });
});
