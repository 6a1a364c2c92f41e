import { AgentError, startCommand } from '@binhost/shared';

/** The gpg CLI with a fixed program and home directory; every call is `--batch`, argv only. */
export class Gpg {
  constructor(
    /** `config.signing.gpg` */
    readonly program: string,
    readonly homedir: string,
  ) {}

  /** Runs `gpg --batch --homedir H ...args`; resolves to stdout, rejects naming the command. */
  async run(args: readonly string[]): Promise<string> {
    const argv = ['--batch', '--no-tty', '--homedir', this.homedir, ...args];
    const stdout: string[] = [];
    const r = await startCommand({ file: this.program, args: argv, timeoutMs: 120_000, check: false, tailLines: 20, onStdoutLine: (l) => stdout.push(l) }).ended;
    if (r.exitCode === 0 && !r.startError) return stdout.length ? `${stdout.join('\n')}\n` : '';
    const why =
      r.startError?.code === 'ENOENT'
        ? `"${this.program}" not found (set signing.gpg in the host config, or signing.enabled = false)`
        : `${this.program} ${args.slice(0, 3).join(' ')} failed: ${r.stderrTail.slice(-3).join(' / ') || r.startError?.message || `exit ${r.exitCode ?? r.signal}`}`;
    throw new AgentError(`signing key: ${why}`, undefined, r.startError ? { cause: r.startError } : undefined);
  }

  /** Fingerprints of the secret keys that can sign, from `--list-secret-keys --with-colons`. */
  async signingFingerprints(): Promise<string[]> {
    const out = await this.run(['--with-colons', '--list-secret-keys']);
    const fprs: string[] = [];
    let primaryCanSign = false;
    for (const line of out.split('\n')) {
      const f = line.split(':');
      // sec:u:255:22:KEYID:created:expires::u:::scSC:...  field 12 = capabilities
      if (f[0] === 'sec') primaryCanSign = (f[11] ?? '').includes('s') && f[1] !== 'r' && f[1] !== 'e';
      else if (f[0] === 'fpr' && primaryCanSign) {
        fprs.push(f[9] ?? '');
        primaryCanSign = false;
      }
    }
    return fprs.filter(Boolean);
  }
}
