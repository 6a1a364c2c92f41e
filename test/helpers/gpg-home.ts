import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';

/** A throwaway GnuPG home with one ed25519 signing key. Never touches ~/.gnupg. */
export interface GpgHome {
  dir: string;
  /** Fingerprint of the key. */
  fingerprint: string;
  /** Runs gpg with --homedir dir; resolves stdout (rejects on a non-zero exit, with stderr). */
  gpg(args: string[], input?: string | Buffer): Promise<Buffer>;
  /** Kills the homedir's gpg-agent and removes the directory. */
  cleanup(): Promise<void>;
}

function runGpg(dir: string, args: string[], input?: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('gpg', ['--homedir', dir, '--batch', '--no-tty', ...args]);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`gpg ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString()}`)),
    );
    child.stdin.on('error', () => undefined); // EPIPE when gpg exits without reading its input
    child.stdin.end(input ?? '');
  });
}

function kill(dir: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('gpgconf', ['--homedir', dir, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    child.on('error', () => resolve());
    child.on('close', () => resolve());
  });
}

/** Creates `dir` (mode 0700) as a GnuPG home; with `withKey`, generates a signing key in it. */
export async function makeGpgHome(dir: string, withKey = true): Promise<GpgHome> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let fingerprint = '';
  if (withKey) {
    await runGpg(dir, ['--passphrase', '', '--quick-gen-key', 'binhost test <t@example.invalid>', 'ed25519', 'sign', 'never']);
    const colons = (await runGpg(dir, ['--with-colons', '--list-keys'])).toString();
    fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1] ?? '';
  }
  return {
    dir,
    fingerprint,
    gpg: (args, input) => runGpg(dir, args, input),
    cleanup: async () => {
      await kill(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Imports `from`'s public key into `to`, trusted fully (`trust`) or left of undefined trust. */
export async function importPublicKey(from: GpgHome, to: GpgHome, trust = true): Promise<void> {
  const armored = await from.gpg(['--armor', '--export', from.fingerprint]);
  // public keys only: no gpg-agent needed in the receiving home
  await to.gpg(['--no-autostart', '--import'], armored);
  if (trust) await to.gpg(['--import-ownertrust'], `${from.fingerprint}:6:\n`);
}
