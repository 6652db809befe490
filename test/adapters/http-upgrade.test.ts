import { IncomingMessage } from 'node:http';
import { pathnameOf } from '../../src/adapters/http-upgrade';

const pathOf = (url: string | undefined): string =>
  pathnameOf(Object.assign(Object.create(IncomingMessage.prototype) as IncomingMessage, { url }));

describe('pathnameOf', () => {
  it.each([
    '/ws',
    '/ws?token=abc',
    '/',
    '/a/b-c_d.e~f',
    '/ws/../ws',
    '/ws/./x',
    '//evil/ws',
    '/w%73',
    '/ws#frag',
    '/a\\b',
    '/ws?x=/../',
    'ws',
    '/é',
  ])('gives %s the pathname a URL parse gives it', (url) => {
    expect(pathOf(url)).toBe(new URL(url, 'http://localhost').pathname);
  });

  it('takes a request without a URL as /', () => {
    expect(pathOf(undefined)).toBe('/');
  });
});
