import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Two network namespaces joined by a veth pair, with TEST-NET-1 addresses (RFC 5737). */
export interface NetnsPair {
  host: { ns: string; address: string };
  target: { ns: string; address: string };
  /** argv prefix to run a command inside a namespace. */
  exec(ns: string): string[];
  remove(): void;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

/** True when `ip netns` can create namespaces here (root with CAP_SYS_ADMIN). */
export function netnsAvailable(): boolean {
  const probe = `bhprobe${randomBytes(3).toString('hex')}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return false;
  spawnSync('ip', ['netns', 'del', probe]);
  return true;
}

/**
 * Creates `bh<id>h` and `bh<id>t`, a veth pair between them, 192.0.2.1 on the host side and
 * 192.0.2.2 on the target side, and loopback up in both (the target's mirror endpoint is on
 * 127.0.0.1). `remove()` deletes both namespaces, which takes the veth pair with them.
 */
export function createNetnsPair(): NetnsPair {
  const id = randomBytes(3).toString('hex');
  const h = `bh${id}h`;
  const t = `bh${id}t`;
  const created: string[] = [];
  const remove = () => {
    for (const ns of created) spawnSync('ip', ['netns', 'del', ns]);
  };
  try {
    ip('netns', 'add', h);
    created.push(h);
    ip('netns', 'add', t);
    created.push(t);
    ip('link', 'add', `vh${id}`, 'type', 'veth', 'peer', 'name', `vt${id}`);
    ip('link', 'set', `vh${id}`, 'netns', h);
    ip('link', 'set', `vt${id}`, 'netns', t);
    ip('-n', h, 'addr', 'add', '192.0.2.1/24', 'dev', `vh${id}`);
    ip('-n', t, 'addr', 'add', '192.0.2.2/24', 'dev', `vt${id}`);
    for (const [ns, dev] of [[h, `vh${id}`], [t, `vt${id}`]] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  } catch (err) {
    remove();
    throw err;
  }
  return {
    host: { ns: h, address: '192.0.2.1' },
    target: { ns: t, address: '192.0.2.2' },
    exec: (ns) => ['ip', 'netns', 'exec', ns],
    remove,
  };
}
