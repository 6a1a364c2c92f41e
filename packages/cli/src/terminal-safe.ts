/** C0 controls but tab and newline, DEL, and C1 controls: what can move the cursor, retitle or reprogram a terminal. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/** The same, in bytes (a C1 control is two bytes in UTF-8, led by 0xc2). */
const CONTROL_BYTES = /[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]/;

/**
 * `text` with every control character shown as an escape (`\u001b`), so that it prints as text.
 * JSON's own escape: in a JSON document (which JSON.stringify leaves C1 controls raw in) it reads
 * back as the same character.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `stream`, whose writes go through {@link printable}. What a command prints comes in part from
 * targets (errors, install plans, config files, build logs), and a target is untrusted input: its
 * text reaches the admin's terminal as text, never as escape sequences. Everything else of the
 * stream (columns, isTTY, on) is the stream's own.
 */
export function terminalSafe<S extends NodeJS.WritableStream>(stream: S): S {
  const write = (chunk: unknown, ...rest: unknown[]): boolean => {
    let safe = chunk;
    if (typeof chunk === 'string') safe = printable(chunk);
    else if (chunk instanceof Uint8Array && CONTROL_BYTES.test(Buffer.from(chunk).toString('latin1'))) safe = printable(Buffer.from(chunk).toString('utf8'));
    return (stream.write as (...a: unknown[]) => boolean)(safe, ...rest);
  };
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === 'write') return write;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
