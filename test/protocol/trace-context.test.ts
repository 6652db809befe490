import { UserMessage } from '../../src/protocol/codecs';

/** `traceparent` and `tracestate` on a `user_message`: W3C Trace Context, checked by the codec. */
const withTrace = (trace: object) => ({ type: 'user_message', id: 'm1', data: { text: 'hi', ...trace } });
const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('user_message trace context', () => {
  it.each([
    ['no trace context', {}],
    ['a traceparent', { traceparent: valid }],
    ['an unsampled one', { traceparent: valid.replace(/01$/, '00') }],
    ['one with a tracestate', { traceparent: valid, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' }],
  ])('accepts %s', (_, trace) => {
    expect(UserMessage.is(withTrace(trace))).toBe(true);
  });

  it.each([
    ['a short one', '00-4bf92f35-00f067aa0ba902b7-01'],
    ['uppercase hex', valid.toUpperCase()],
    ['version ff', valid.replace(/^00/, 'ff')],
    ['another version', valid.replace(/^00/, '01')],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['an all-zero parent id', `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`],
    ['a long string', 'x'.repeat(100_000)],
    ['a number', 42],
  ])('refuses %s as traceparent', (_, traceparent) => {
    expect(UserMessage.is(withTrace({ traceparent }))).toBe(false);
  });

  it.each([
    ['one past 512 characters', 'a'.repeat(513)],
    ['a control character', 'a=1\n'],
  ])('refuses %s as tracestate', (_, tracestate) => {
    expect(UserMessage.is(withTrace({ traceparent: valid, tracestate }))).toBe(false);
  });
});
