// The demo page's conversations: a sidebar (new, the list by title, open, rename, delete) and, on
// the messages, Edit, Regenerate and a "‹ 2/3 ›" switcher between branches. Titles and messages
// are set as text (textContent), never as HTML. Plain browser JavaScript, bundled into app.js.

/** Conversations the sidebar asks for at a time ("More" asks for the next page). */
const PAGE_SIZE = 20;

/**
 * Wires the sidebar and the message controls. `page` gives what app.js owns: the client, the
 * message list's helpers, `stream(reply$, turns)` to stream a reply into turns, `isRunning()`,
 * `report(error)`, `cleared(title)` (an empty conversation on the page), `saveSession()` and
 * `storedSessionId` (the conversation the page was on when loaded). Returns `connected()` (call
 * on each greeting) and `decorateLast()` (controls on the reply that just ended).
 */
/** The conversation's usage total as its tooltip says it: ` · 1240 tokens` (`~` when estimated), nothing before any. */
function tokensOf(usage) {
  return usage ? ` · ${usage.estimated ? '~' : ''}${usage.totalTokens} tokens` : '';
}

export function createConversations(page) {
  const { client, element, messages, addTurn, assistantTurn, showAttachments, report, scrollToEnd } = page;
  const list = document.getElementById('conversation-list');
  const more = document.getElementById('conversation-more');
  let nextCursor;

  function item(summary) {
    const row = element('li', 'conversation');
    row.dataset.id = summary.id;
    if (summary.id === client.sessionId) row.classList.add('current');
    const open = element('button', 'conversation-title', summary.title || 'New conversation');
    open.type = 'button';
    open.title = `${summary.messageCount} messages${tokensOf(summary.usage)} · ${new Date(summary.updatedAt).toLocaleString()}`;
    open.addEventListener('click', () => openConversation(summary.id));
    const rename = element('button', 'icon', '✎');
    rename.type = 'button';
    rename.title = rename.ariaLabel = 'Rename';
    rename.addEventListener('click', () => startRename(row, open, summary));
    const remove = element('button', 'icon', '🗑');
    remove.type = 'button';
    remove.title = remove.ariaLabel = 'Delete';
    remove.addEventListener('click', () => deleteConversation(summary.id));
    row.append(open, rename, remove);
    return row;
  }

  /** The first page of the list again, or (`append`) the page after the one shown. */
  function refresh(append = false) {
    return client.listConversations({ limit: PAGE_SIZE, ...(append && nextCursor ? { cursor: nextCursor } : {}) }).then(
      (answer) => {
        nextCursor = answer.nextCursor;
        more.hidden = !nextCursor;
        const rows = answer.conversations.map(item);
        if (append) list.append(...rows);
        else list.replaceChildren(...rows);
      },
      (error) => {
        // A store without a list (Redis): the sidebar says so instead of failing the page.
        if (error?.code === 'conversations_unsupported')
          list.replaceChildren(element('li', 'conversation-none', 'This server keeps no conversation list.'));
        else report(error);
      },
    );
  }

  function startRename(row, open, summary) {
    const field = element('input', 'conversation-rename');
    field.value = summary.title;
    field.maxLength = 200;
    field.ariaLabel = 'New title';
    let finished = false;
    const done = (save) => {
      // Once: putting the title back blurs the field, which would call this again.
      if (finished) return;
      finished = true;
      const title = field.value.trim();
      field.replaceWith(open);
      if (!save || !title || title === summary.title) return;
      client.renameConversation(summary.id, title).then(() => refresh(), report);
    };
    field.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') done(true);
      if (event.key === 'Escape') done(false);
    });
    field.addEventListener('blur', () => done(true));
    open.replaceWith(field);
    field.focus();
    field.select();
  }

  function deleteConversation(id) {
    if (page.isRunning()) return report({ code: 'busy' });
    client.deleteConversation(id).then(() => (id === client.sessionId ? newConversation() : refresh()), report);
  }

  /** A fresh session: the client forgets this one and greets the server again. */
  function newConversation() {
    if (page.isRunning()) return report({ code: 'busy' });
    client.disconnect();
    page.cleared('New conversation');
    client.connect().then(() => refresh(), report);
  }

  function openConversation(id) {
    if (page.isRunning()) return report({ code: 'busy' });
    client.openConversation(id).then((history) => {
      page.saveSession();
      show(history);
      refresh();
    }, report);
  }

  /** The user's and the model's messages of `history` (the active branch), each with its controls. */
  function show(history) {
    messages.replaceChildren();
    if (history.length === 0) return page.cleared('New conversation');
    let reply; // the assistant turn the model's messages since the last user message go to
    history.forEach((entry, index) => {
      if (entry.role === 'user') {
        reply = undefined;
        const turn = addTurn('user');
        if (entry.content) turn.append(element('div', 'bubble', entry.content));
        showAttachments(turn, entry.attachments);
        addControls(turn, entry);
        return;
      }
      if (entry.role !== 'assistant') return;
      if (!reply) {
        reply = assistantTurn();
        reply.bubble.classList.remove('streaming');
        reply.first = entry;
      }
      if (entry.content) reply.view.append(entry.content);
      const last = history.slice(index + 1).every((later) => later.role !== 'user');
      if (history[index + 1]?.role === 'user' || index === history.length - 1) {
        reply.view.finish();
        addControls(reply.turn, reply.first, last);
      }
    });
    scrollToEnd();
  }

  /** Edit (a user message), Regenerate (the last reply) and the branch switcher, as `entry` allows. */
  function addControls(turn, entry, lastReply = false) {
    turn.querySelector('.message-controls')?.remove();
    if (!entry?.id) return;
    turn.dataset.messageId = entry.id;
    const bar = element('div', 'message-controls');
    const siblings = entry.siblingIds ?? [];
    if (siblings.length > 1) {
      const at = siblings.indexOf(entry.id);
      const previous = element('button', 'icon branch-previous', '‹');
      const next = element('button', 'icon branch-next', '›');
      previous.type = next.type = 'button';
      previous.ariaLabel = 'Previous branch';
      next.ariaLabel = 'Next branch';
      previous.disabled = at <= 0;
      next.disabled = at >= siblings.length - 1;
      previous.addEventListener('click', () => switchTo(siblings[at - 1]));
      next.addEventListener('click', () => switchTo(siblings[at + 1]));
      bar.append(previous, element('span', 'branch-position', `${at + 1}/${siblings.length}`), next);
    }
    if (entry.role === 'user') {
      const edit = element('button', 'icon edit', 'Edit');
      edit.type = 'button';
      edit.addEventListener('click', () => startEdit(turn, entry));
      bar.append(edit);
    } else if (lastReply) {
      const again = element('button', 'icon regenerate', 'Regenerate');
      again.type = 'button';
      again.addEventListener('click', regenerate);
      bar.append(again);
    }
    turn.append(bar);
  }

  function switchTo(messageId) {
    if (page.isRunning()) return report({ code: 'busy' });
    client.switchBranch(messageId).then(show, report);
  }

  /** Streams `reply$` into a new assistant turn after `userTurn`, then shows the history with its controls. */
  function streamThenShow(reply$) {
    page.stream(reply$, () =>
      client.getHistory().then((history) => {
        show(history);
        refresh();
      }, report),
    );
  }

  function regenerate() {
    if (page.isRunning()) return report({ code: 'busy' });
    // The reply is replaced on the page; the server keeps it as a branch.
    [...messages.querySelectorAll('.turn')].at(-1)?.remove();
    streamThenShow(client.regenerate());
  }

  function startEdit(turn, entry) {
    if (page.isRunning()) return report({ code: 'busy' });
    const field = element('textarea', 'edit-field');
    field.value = entry.content;
    field.ariaLabel = 'Edited message';
    const save = element('button', 'primary small', 'Send');
    const cancel = element('button', 'secondary small', 'Cancel');
    save.type = cancel.type = 'button';
    const form = element('div', 'edit-form');
    form.append(field, save, cancel);
    const bubble = turn.querySelector('.bubble');
    bubble?.replaceWith(form);
    turn.querySelector('.message-controls')?.remove();
    cancel.addEventListener('click', () => {
      form.replaceWith(bubble ?? '');
      addControls(turn, entry);
    });
    save.addEventListener('click', () => {
      const text = field.value.trim();
      if (!text) return;
      // The edited message and everything after it leave the page; the server keeps them as a branch.
      while (turn.nextSibling) turn.nextSibling.remove();
      form.replaceWith(element('div', 'bubble', text));
      streamThenShow(client.editMessage(entry.id, text));
    });
    field.focus();
  }

  /** Controls on the question and reply that just ended on the page (their ids are in the history now). */
  function decorateLast() {
    client.getHistory().then((history) => {
      const turns = [...messages.querySelectorAll('.turn')];
      const userIndex = history.findLastIndex((entry) => entry.role === 'user');
      const userTurn = turns.findLast((turn) => turn.classList.contains('user'));
      const replyTurn = turns.at(-1)?.classList.contains('assistant') ? turns.at(-1) : undefined;
      if (userIndex < 0 || !userTurn) return;
      addControls(userTurn, history[userIndex]);
      const first = history.slice(userIndex + 1).find((entry) => entry.role === 'assistant');
      if (replyTurn && first) addControls(replyTurn, first, true);
      refresh();
    }, report);
  }

  /**
   * Once greeted: the list, and on the first greeting, the conversation this tab was on if the
   * server could not resume it (its replay was gone after a restart): reopened by id, since the
   * store keeps it. A deleted one stays gone: the page carries on in the new conversation.
   */
  let wanted = page.storedSessionId;
  function connected() {
    const reopen = wanted !== undefined && wanted !== client.sessionId ? wanted : undefined;
    wanted = undefined;
    if (!reopen) return refresh();
    client.openConversation(reopen).then(
      (history) => {
        page.saveSession();
        show(history);
        refresh();
      },
      () => refresh(),
    );
  }

  document.getElementById('new-conversation').addEventListener('click', newConversation);
  more.addEventListener('click', () => refresh(true));
  return { connected, decorateLast };
}
