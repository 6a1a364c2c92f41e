import { PermissionDeniedError, InvalidArgumentError } from '../errors.js';

/** The three kinds of certificate the CA issues. */
export type Role = 'host' | 'target' | 'admin';

export const ROLES: readonly Role[] = ['host', 'target', 'admin'];

/** Who is calling, as read from a verified client certificate. */
export interface Identity {
  readonly role: Role;
  readonly name: string;
}

/**
 * Names of targets, hosts and admins: they become directory names under the host's state dir and
 * certificate subjects, so they are restricted to a safe alphabet.
 */
const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Whether `name` is a valid target or root name (see {@link assertValidName}). */
export function isValidName(name: string): boolean {
  return NAME_RE.test(name) && !name.includes('..');
}

/** Throws unless `name` is a valid identity name. */
export function assertValidName(name: string, what = 'name'): void {
  if (!isValidName(name)) {
    throw new InvalidArgumentError(
      `invalid ${what} "${name}": use 1-63 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit`,
    );
  }
}

/** The organisation every certificate of ours carries. */
export const CERT_ORGANIZATION = 'binhost-agents';

/** Subject fields as Node's tls.PeerCertificate presents them (a field may repeat: then it is an array). */
export type SubjectFields = Partial<Record<string, string | string[]>>;

/**
 * Reads the (role, name) from a verified certificate's subject: `OU` is the role, `CN` the name,
 * `O` must be ours. Anything else, or a repeated field, is refused: the identity must be
 * unambiguous.
 */
export function identityFromSubject(subject: SubjectFields | undefined): Identity {
  if (!subject) throw new PermissionDeniedError('client certificate has no subject');
  const single = (field: string): string => {
    const v = subject[field];
    if (typeof v !== 'string') throw new PermissionDeniedError(`client certificate subject needs exactly one ${field}`);
    return v;
  };
  if (single('O') !== CERT_ORGANIZATION) throw new PermissionDeniedError('client certificate is not a binhost-agents certificate');
  const role = single('OU');
  if (!(ROLES as readonly string[]).includes(role)) throw new PermissionDeniedError(`client certificate has unknown role "${role}"`);
  const name = single('CN');
  if (!NAME_RE.test(name)) throw new PermissionDeniedError(`client certificate has an invalid name "${name}"`);
  return { role: role as Role, name };
}

/** "target/alpha" — how identities appear in logs. */
/** "a host certificate", "an admin certificate": a certificate of `role`, in words. */
export function certificateOfRole(role: Role): string {
  return `${role === 'admin' ? 'an' : 'a'} ${role} certificate`;
}

export function formatIdentity(id: Identity): string {
  return `${id.role}/${id.name}`;
}
