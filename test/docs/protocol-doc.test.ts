/**
 * docs/PROTOCOL.md describes the wire the codecs define (src/protocol): every client and server
 * message type in its direction's section, every control in the `control` section, every error
 * code in the error code table and no other, every close code the server uses in the close code
 * table. A message, control or code added to the codecs without its documentation fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientMessageCodecs, ControlType } from '../../src/protocol/client-codecs';
import { serverMessageCodecs } from '../../src/protocol/codecs';
import { CloseCode, ErrorCode } from '../../src/protocol/codes';

const protocol = readFileSync(join(__dirname, '..', '..', 'docs', 'PROTOCOL.md'), 'utf8');

/** The text from the heading line `heading` to the next heading of its level or higher. */
function section(heading: string): string {
  const start = protocol.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/PROTOCOL.md has no heading "${heading}"`);
  const level = /^#+/.exec(heading)?.[0] ?? '##';
  const next = new RegExp(`\\n#{1,${level.length}} `, 'g');
  next.lastIndex = start + heading.length + 1;
  const end = next.exec(protocol)?.index ?? protocol.length;
  return protocol.slice(start, end);
}

/** The first cells of a section's table rows, less the header and its rule. */
function firstCells(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) => (line.split('|')[1] ?? '').trim());
}

const missing = (names: readonly string[], text: string): string[] =>
  names.filter((name) => !text.includes(`\`${name}\``));

describe('docs/PROTOCOL.md against the codecs', () => {
  it('describes every client message type under "Client to server"', () => {
    expect(missing(Object.keys(clientMessageCodecs), section('## Client to server'))).toEqual([]);
  });

  it('describes every server message type under "Server to client"', () => {
    expect(missing(Object.keys(serverMessageCodecs), section('## Server to client'))).toEqual([]);
  });

  it('names every control in the `control` section', () => {
    expect(missing(Object.keys(ControlType.keys), section('### `control`'))).toEqual([]);
  });

  it('has a row for every error code, and for no other', () => {
    const rows = firstCells(section('## Error codes')).map((cell) => cell.replace(/`/g, ''));
    expect([...rows].sort()).toEqual(Object.keys(ErrorCode.keys).sort());
  });

  it('has a row for every close code the server uses', () => {
    const rows = firstCells(section('## Close codes and refused upgrades'));
    const used = Object.values(CloseCode).map(String);
    expect(used.filter((code) => !rows.includes(code))).toEqual([]);
  });
});
