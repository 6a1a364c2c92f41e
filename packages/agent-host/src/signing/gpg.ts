import { execFile } from 'node:child_process';
import { AgentError, errnoCode } from '@binhost/shared';

/** The gpg CLI with a fixed program and home directory; every call is `--batch`, argv only. */
export class Gpg {
  constructor(
    /** `config.signing.gpg` */
    readonly program: string,
    readonly homedir: string,
  ) {}

  /** Runs `gpg --batch --homedir H ...args`; resolves to stdout, rejects naming the command. */
  run(args: readonly string[]): Promise<string> {
    const argv = ['--batch', '--no-tty', '--homedir', this.homedir, ...args];
    return new Promise((resolve, reject) => {
      execFile(this.program, argv, { encoding: 'utf8', maxBuffer: 8 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const why =
          errnoCode(err) === 'ENOENT'
            ? `"${this.program}" not found (set signing.gpg in the host config, or signing.enabled = false)`
            : `${this.program} ${args.slice(0, 3).join(' ')} failed: ${stderr.trim().split('\n').slice(-3).join(' / ') || err.message}`;
        reject(new AgentError(`signing key: ${why}`, undefined, { cause: err }));
      });
    });
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
