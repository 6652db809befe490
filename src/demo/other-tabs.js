// Tabs of the demo page share one conversation: this follows the replies another tab asked for,
// and shows a joining tab the conversation so far. Plain browser JavaScript, bundled into app.js.

/**
 * Renders the session's replies that this tab did not ask for. `joining`: this tab joins a
 * conversation that exists, whose stream the server replays before greeting it.
 */
export function followOtherTabs({
  client,
  joining,
  isRunning,
  addTurn,
  assistantTurn,
  replyRenderer,
  element,
  scrollToEnd,
  showAttachments,
}) {
  const joinedSessionId = client.session?.sessionId;
  // Frames of the session's stream that belong to no reply of this tab: while this tab's own reply
  // runs, every reply frame is its (the server runs one reply at a time per conversation).
  const REPLY_TYPES = new Set(['llm_chunk', 'llm_reasoning', 'tool_call', 'tool_result', 'llm_complete']);
  const others = new Map(); // requestId -> { render, finish }
  /** Until this tab is first greeted, frames are the stream replayed to a joining tab: the history shows them. */
  const replayed = new Map(); // requestId -> events of a reply still running when this tab joined

  function otherReply(requestId, userText) {
    const userTurn = addTurn('user');
    const userBubble = element('div', 'bubble', userText ?? '');
    userTurn.append(userBubble);
    const { turn, bubble, meta, view } = assistantTurn();
    const reply = { render: replyRenderer(turn, bubble, meta, view), userBubble, view, bubble };
    others.set(requestId, reply);
    return reply;
  }

  client.messages$.subscribe((message) => {
    const requestId = message.data?.requestId;
    if (!REPLY_TYPES.has(message.type) || requestId === undefined) return;
    if (joining) {
      if (message.type === 'llm_complete') replayed.delete(requestId);
      else replayed.set(requestId, [...(replayed.get(requestId) ?? []), message]);
      return;
    }
    if (isRunning() && !others.has(requestId)) return;
    const reply = others.get(requestId) ?? otherReply(requestId);
    reply.render(message);
    if (message.type !== 'llm_complete') return;
    others.delete(requestId);
    reply.view.finish();
    reply.bubble.classList.remove('streaming');
    // The question came from another tab: the server's history has it, as its last user message.
    client.getHistory().then(
      (history) => {
        const asked = history.filter((entry) => entry.role === 'user').at(-1);
        if (asked && !reply.userBubble.textContent) reply.userBubble.textContent = asked.content;
      },
      () => undefined,
    );
  });

  /** A tab joining the conversation shows it as the server holds it, then any reply still running. */
  function showJoinedConversation() {
    client.getHistory().then(
      (history) => {
        for (const entry of history) {
          if ((entry.role !== 'user' && entry.role !== 'assistant') || (entry.role === 'assistant' && !entry.content))
            continue;
          if (entry.role === 'user') {
            const userTurn = addTurn('user');
            if (entry.content) userTurn.append(element('div', 'bubble', entry.content));
            showAttachments(userTurn, entry.attachments);
            continue;
          }
          const { bubble, view } = assistantTurn();
          view.append(entry.content);
          view.finish();
          bubble.classList.remove('streaming');
        }
        for (const [requestId, events] of replayed) {
          const reply = otherReply(requestId, history.filter((entry) => entry.role === 'user').at(-1)?.content);
          for (const event of events) reply.render(event);
        }
        replayed.clear();
        scrollToEnd();
      },
      () => replayed.clear(),
    );
  }
  client.status$.subscribe((status) => {
    if (status !== 'connected' || !joining) return;
    joining = false;
    // A session the server had lost (the client started a fresh one) has nothing to show.
    if (client.session?.sessionId === joinedSessionId) showJoinedConversation();
  });
}
