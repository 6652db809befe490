import { decodeBusMessage, encodeBusMessage, type BusMessage } from '../../src/store/redis/bus';

/** Anything may be published on the channel: only well-formed messages are acted on. */
describe('the Redis bus codec', () => {
  const valid: BusMessage[] = [
    { t: 'takeover', s: 'S', by: 'N' },
    { t: 'control', s: 'S', m: { type: 'control', id: 'c1', data: { type: 'abort' } } },
    { t: 'send', s: 'S', to: 'N', m: { type: 'notification', data: { event: 'hello', payload: { a: 1 } } } },
    { t: 'released', s: 'S' },
    { t: 'writing', s: 'S', by: 'B' },
    { t: 'broadcast', from: 'N', m: { type: 'notification', data: { event: 'all' } }, x: 'S' },
  ];

  it.each(valid)('reads back what it wrote: %j', (message) => {
    expect(decodeBusMessage(encodeBusMessage(message))).toEqual(message);
  });

  it.each([
    ['not JSON', '{'],
    ['an unknown kind', JSON.stringify({ t: 'explode', s: 'S' })],
    ['a missing field', JSON.stringify({ t: 'takeover', s: 'S' })],
    [
      'a control that is not one',
      JSON.stringify({ t: 'control', s: 'S', m: { type: 'control', id: 'c', data: { type: 'format_disk' } } }),
    ],
    [
      'a server message of no known type',
      JSON.stringify({ t: 'send', s: 'S', to: 'N', m: { type: 'shell', data: {} } }),
    ],
    [
      'a malformed server message',
      JSON.stringify({ t: 'broadcast', from: 'N', m: { type: 'notification', data: { event: 42 } } }),
    ],
    ['null', 'null'],
  ])('ignores %s', (_what, text) => {
    expect(decodeBusMessage(text)).toBeUndefined();
  });
});
