import type { HistoryMessage } from '../../src/protocol/codecs';

/** History messages without what the server gives each (`id`, `parentId`, `siblingIds`): for comparing content alone. */
export function withoutIds(messages: readonly HistoryMessage[]): HistoryMessage[] {
  return messages.map(({ id: _id, parentId: _parentId, siblingIds: _siblingIds, ...message }) => message);
}
