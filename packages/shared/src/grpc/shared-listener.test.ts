import { describe, expect, it } from 'vitest';
import { parseListenAddress } from './shared-listener.js';

describe('parseListenAddress', () => {
  it('reads host:port and [v6]:port as the host config writes them', () => {
    expect(parseListenAddress('127.0.0.1:7453')).toEqual({ host: '127.0.0.1', port: 7453 });
    expect(parseListenAddress('[::]:7453')).toEqual({ host: '::', port: 7453 });
    expect(parseListenAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListenAddress('binhost.example:7453')).toEqual({ host: 'binhost.example', port: 7453 });
    expect(parseListenAddress(':7453')).toEqual({ host: '::', port: 7453 });
  });

  it('refuses anything else', () => {
    for (const bad of ['7453', '::1:7453', 'host:', 'host:70000', '[::1]7453']) expect(() => parseListenAddress(bad)).toThrow(RangeError);
  });
});
