/**
 * The connection-level answers to a principal's conversation requests that do not move the
 * connection: `list_conversations`, `rename_conversation`, `delete_conversation` (opening one
 * moves it: `connection.ts`). Answered to the asking connection alone.
 */
import type {
  DeleteConversationMessage,
  ListConversationsMessage,
  RenameConversationMessage,
  ServerMessageInput,
} from '../protocol/codecs';
import type { ConversationCatalog } from './ports';

/** Conversations a page holds unless the request says. */
export const DEFAULT_CONVERSATION_PAGE_SIZE = 20;

/** Answers `message` from `catalog`; the answer (or an `error`) goes to `answer`. Rejects if the store failed. */
export async function answerConversationRequest(
  catalog: ConversationCatalog,
  principal: unknown,
  message: ListConversationsMessage | RenameConversationMessage | DeleteConversationMessage,
  answer: (message: ServerMessageInput) => void,
): Promise<void> {
  const requestId = message.id;
  switch (message.type) {
    case 'list_conversations': {
      const page = await catalog.list(principal, {
        limit: message.data?.limit ?? DEFAULT_CONVERSATION_PAGE_SIZE,
        ...(message.data?.cursor === undefined ? {} : { cursor: message.data.cursor }),
      });
      return answer({
        type: 'conversations',
        data: {
          conversations: [...page.conversations],
          requestId,
          ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }),
        },
      });
    }
    case 'rename_conversation': {
      const { conversationId, title } = message.data;
      if (!(await catalog.rename(principal, conversationId, title.trim())))
        return answer(notFound(conversationId, requestId));
      return answer({
        type: 'conversation_updated',
        data: { conversationId, change: 'renamed', title: title.trim(), requestId },
      });
    }
    case 'delete_conversation': {
      const { conversationId } = message.data;
      if (!(await catalog.remove(principal, conversationId))) return answer(notFound(conversationId, requestId));
      return answer({ type: 'conversation_updated', data: { conversationId, change: 'deleted', requestId } });
    }
  }
}

/** The refusal of a request naming no conversation of the asking principal. */
export function notFound(conversationId: string, requestId: string): ServerMessageInput {
  return {
    type: 'error',
    data: {
      code: 'conversation_not_found',
      message: `no conversation ${conversationId} of yours (deleted, or never there)`,
      retryable: false,
      requestId,
    },
  };
}
