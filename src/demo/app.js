// The demo chat page. Plain browser JavaScript over the project's own browser build of
// llm-ws/client (served beside this file): no framework, no second client. The model's markdown
// is rendered by /markdown.js (marked + DOMPurify). No inline script: the page's CSP forbids it.
import { humanInTheLoop, WSClient } from '/llm-ws-client.js';
import { createMarkdownView, handleCopyButtons } from '/markdown.js';
import { createAttachmentPicker, showAttachments } from './attachments.js';
import { createConversations } from './conversations.js';
import { followOtherTabs } from './other-tabs.js';

const $ = (id) => document.getElementById(id);
const messages = $('messages');
const input = $('input');
const sendButton = $('send');
const stopButton = $('stop');
const notice = $('notice');
const noticeText = $('notice-text');
const reconnectButton = $('reconnect');
const connection = $('connection');
const connectionText = $('connection-text');

// The page's own query (for example ?token=...) goes to the WebSocket, so a protected server works.
const scheme = location.protocol === 'https:' ? 'wss' : 'ws';

/** A tool that runs here, in the page: the model may ask for the browser's clock and time zone. */
const browserTime = {
  name: 'get_browser_time',
  description: "The current date, time and time zone of the user's browser (where the user is, not the server)",
  parameters: { type: 'object', properties: {}, additionalProperties: false },
  execute: () => {
    const now = new Date();
    return {
      iso: now.toISOString(),
      local: now.toString(),
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    };
  },
};

// Every tab of this page shares one conversation: the session is kept in localStorage, and a
// tab opened later joins it (share: true) instead of taking it over.
const SESSION_KEY = 'llm-ws-demo-session';
let storedSession;
try {
  storedSession = JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null') ?? undefined;
} catch {
  storedSession = undefined;
}
const client = new WSClient({
  url: `${scheme}://${location.host}/ws${location.search}`,
  reconnectAttempts: 10,
  // Approvals and the browser's own tool.
  humanInTheLoop,
  tools: [browserTime],
  share: true,
  ...(storedSession?.sessionId && storedSession?.resumeToken ? { session: storedSession } : {}),
});

/** Errors in words a person can act on, by code. */
const explanations = {
  busy: 'Please wait for the current answer to finish, or press Stop.',
  upstream_error: 'The model service failed to answer.',
  upstream_timeout: 'The model service stopped responding.',
  rate_limited: 'Too many messages at once: wait a moment and try again.',
  message_too_long: 'That message is too long for this server.',
  session_lost: 'The server restarted, so this conversation was lost. You can carry on with a new one.',
  resume_gap: 'Part of the answer was lost while the connection was down.',
  reconnect_failed: 'The server cannot be reached.',
  not_connected: 'Not connected to the server.',
  connection_refused: 'The server refused the connection (a missing or wrong access token?).',
  disconnected: 'Disconnected.',
  queue_full: 'Too many messages are waiting for the connection.',
  internal_error: 'Something went wrong on the server.',
  attachment_too_large: 'An attachment is too large for this server.',
  unsupported_attachment: 'This server does not take that kind of attachment.',
  invalid_attachment: 'An attachment could not be read.',
  message_too_large: 'The message with its attachments is too large for this server.',
};
/** Codes whose server message says which attachment and which limit: shown with the code. */
const DETAILED = new Set(['attachment_too_large', 'unsupported_attachment', 'invalid_attachment', 'message_too_large']);
const explain = (error) => {
  const words = explanations[error?.code];
  if (words && DETAILED.has(error.code)) return `${words} (${error.code}: ${error.message})`;
  return words
    ? `${words}${error.code.startsWith('upstream') ? ` (${error.message})` : ''}`
    : (error?.message ?? String(error));
};

/** Shows a notice (or hides it, for ''); with `reconnect`, a Reconnect button beside the words. */
function showNotice(text, { reconnect = false } = {}) {
  noticeText.textContent = text;
  reconnectButton.hidden = !reconnect;
  notice.hidden = !text;
}

/** Errors that mean the message never reached the server, so the page can offer it again. */
const NOT_SENT = new Set(['not_connected', 'reconnect_failed', 'connection_refused', 'disconnected', 'queue_full']);
const offerReconnect = (error) => {
  showNotice(explain(error), { reconnect: error?.code !== 'queue_full' });
};
/** Shows a failed request's error, offering Reconnect when the connection is what failed. */
const report = (error) => (NOT_SENT.has(error?.code) ? offerReconnect(error) : showNotice(explain(error)));

/** The sidebar and the message controls (set up below, once the page's helpers exist). */
let conversations;

/** The conversation this tab is on, for the next load of the page and for tabs opened later. */
function saveSession() {
  try {
    localStorage.setItem(SESSION_KEY, JSON.stringify(client.session));
  } catch {
    // Storage off (private mode): this tab still works, alone.
  }
}

// --- connection indicator, with a countdown while reconnecting ---------------------------------
let countdown;
let connectionStatus = 'disconnected';
function setConnection(state, text) {
  clearInterval(countdown);
  connection.dataset.state = state;
  connectionText.textContent = text;
}
client.status$.subscribe((status) => {
  connectionStatus = status;
  if (status === 'connected') {
    setConnection('connected', 'Connected');
    showNotice('');
    saveSession();
    conversations?.connected();
  } else if (status === 'connecting') setConnection('connecting', 'Connecting…');
  else if (status === 'disconnected') setConnection('disconnected', 'Disconnected');
});
client.reconnecting$.subscribe(({ attempt, delayMs }) => {
  const at = Date.now() + delayMs;
  const tick = () => {
    const seconds = Math.max(0, Math.ceil((at - Date.now()) / 1000));
    connectionText.textContent =
      seconds > 0 ? `Reconnecting in ${seconds}s (attempt ${attempt})` : `Reconnecting (attempt ${attempt})…`;
  };
  setConnection('reconnecting', '');
  tick();
  countdown = setInterval(tick, 250);
});
client.errors$.subscribe((error) => {
  if (error.code === 'reconnect_failed' || error.code === 'connection_refused') offerReconnect(error);
});
function reconnect() {
  showNotice('');
  // A failure comes back through errors$ (reconnect_failed), which offers the button again.
  client.connect().then(
    () => input.focus(),
    () => undefined,
  );
}
reconnectButton.addEventListener('click', reconnect);

// --- the conversation ---------------------------------------------------------------------------
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text; // text only: the model's markdown goes through /markdown.js alone
  return node;
}

function addTurn(role) {
  $('empty')?.remove();
  const turn = element('div', `turn ${role}`);
  messages.append(turn);
  return turn;
}

// Follow the reply as it grows, unless the reader scrolled up to read something earlier.
let stickToBottom = true;
messages.addEventListener('scroll', () => {
  stickToBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 48;
});
function scrollToEnd() {
  messages.scrollTop = messages.scrollHeight;
}
const followReply = () => stickToBottom && scrollToEnd();

function toolCard(turn, before, call) {
  const card = element('div', 'tool');
  card.dataset.state = 'start';
  const head = element('div', 'tool-head');
  head.append(
    element('span', 'tool-badge', 'tool'),
    element('span', '', call.toolName),
    element('span', 'tool-state', 'running…'),
  );
  card.append(head, element('pre', 'tool-args', JSON.stringify(call.args)));
  turn.insertBefore(card, before);
  return card;
}

/** What a tool card says for each status of its call. */
const TOOL_STATES = {
  start: 'running…',
  approval_required: 'waiting for your approval',
  client_execute: 'running in your browser…',
  denied: 'denied',
  complete: 'done',
  error: 'failed',
};

/** Shows a tool call's new status on its card; a call waiting for approval gets Approve and Deny. */
function updateToolCard(card, call) {
  card.dataset.state = call.status;
  card.querySelector('.tool-state').textContent = TOOL_STATES[call.status] ?? call.status;
  card.querySelector('.tool-approval')?.remove();
  if (call.status === 'denied' && call.reason) card.append(element('pre', 'tool-result', call.reason));
  if (call.status !== 'approval_required') return;
  const buttons = element('div', 'tool-approval');
  const approve = element('button', 'primary small', 'Approve');
  const deny = element('button', 'secondary small', 'Deny');
  approve.type = deny.type = 'button';
  approve.addEventListener('click', () => client.approve(call.toolCallId));
  deny.addEventListener('click', () => client.deny(call.toolCallId, 'the user pressed Deny'));
  buttons.append(approve, deny);
  card.append(buttons);
}

/**
 * A reply's token usage, summed over its model calls: `58 in (12 cached) · 9 out (2 reasoning)`,
 * with `~` before counts the server estimated (a model that reported none).
 */
function describeUsage(usage) {
  const about = usage.estimated ? '~' : '';
  const cached = usage.cachedTokens ? ` (${usage.cachedTokens} cached)` : '';
  const reasoning = usage.reasoningTokens ? ` (${usage.reasoningTokens} reasoning)` : '';
  return `${about}${usage.promptTokens} in${cached} · ${about}${usage.completionTokens} out${reasoning} tokens`;
}

/**
 * Renders one reply's events into its turn: text through the markdown view, reasoning into a
 * collapsible "Thinking" block, tool calls as cards. Returns the function that takes each event.
 */
function replyRenderer(turn, bubble, meta, view) {
  const cards = new Map();
  let thinking;
  return (event) => {
    if (event.type === 'llm_chunk') return view.append(event.data.chunk); // rendered at the next frame
    if (event.type === 'llm_reasoning') {
      if (!thinking) {
        thinking = element('details', 'thinking');
        thinking.append(element('summary', '', 'Thinking…'), element('div', 'thinking-text'));
        turn.insertBefore(thinking, turn.querySelector('.tool') ?? bubble);
      }
      thinking.querySelector('.thinking-text').textContent += event.data.chunk;
    } else if (event.type === 'tool_call') {
      const card = cards.get(event.data.toolCallId) ?? toolCard(turn, bubble, event.data);
      cards.set(event.data.toolCallId, card);
      updateToolCard(card, event.data);
    } else if (event.type === 'tool_result') {
      const card = cards.get(event.data.toolCallId);
      if (card && card.dataset.state !== 'denied') {
        const failed = event.data.error !== undefined;
        updateToolCard(card, { status: failed ? 'error' : 'complete' });
        card.append(
          element('pre', 'tool-result', failed ? event.data.error : `→ ${JSON.stringify(event.data.result)}`),
        );
      }
    } else if (event.type === 'llm_complete') {
      const { finishReason, usage } = event.data;
      if (thinking) thinking.querySelector('summary').textContent = 'Thought';
      if (finishReason === 'aborted') {
        meta.className = 'meta stopped';
        meta.textContent = 'Stopped';
      } else {
        meta.textContent = usage ? describeUsage(usage) : '';
      }
      if (usage && finishReason === 'aborted') meta.textContent += ` · ${describeUsage(usage)}`;
    }
    followReply();
  };
}

/** A new assistant turn: its bubble, meta line and markdown view. */
function assistantTurn() {
  const turn = addTurn('assistant');
  const bubble = element('div', 'bubble streaming');
  const meta = element('div', 'meta');
  turn.append(bubble, meta);
  return { turn, bubble, meta, view: createMarkdownView(bubble, { onRender: followReply }) };
}

let running; // the reply being streamed: { stop() }

function setBusy(busy) {
  sendButton.hidden = busy;
  stopButton.hidden = !busy;
  input.placeholder = busy ? 'Answering… (Stop interrupts)' : 'Message…';
}

/**
 * Sends `text` and streams the reply into a new bubble. Returns false when nothing was sent:
 * a reply is running, or the client has given up on the connection (then the notice offers
 * Reconnect, and the text stays in the input).
 */
function ask(text, attachments) {
  if (running || (!text.trim() && !attachments?.wire.length)) return false;
  if (connectionStatus === 'disconnected') {
    offerReconnect({ code: 'not_connected' });
    return false;
  }
  showNotice('');
  const userTurn = addTurn('user');
  if (text) userTurn.append(element('div', 'bubble', text));
  showAttachments(userTurn, attachments?.shown, { element, query: location.search });
  const { turn, bubble, meta, view } = assistantTurn();
  const render = replyRenderer(turn, bubble, meta, view);
  let answered = false;
  setBusy(true);
  stickToBottom = true;
  scrollToEnd();

  // Nothing came back: take the turn off the page and keep the words in the input for another try.
  const takeBack = () => {
    userTurn.remove();
    turn.remove();
    if (!input.value) input.value = text;
    if (attachments) picker.restore(attachments.files);
  };
  const finish = () => {
    view.finish();
    bubble.classList.remove('streaming');
    running = undefined;
    setBusy(false);
    input.focus();
  };
  const options = attachments?.wire.length ? { attachments: attachments.wire } : undefined;
  const subscription = client.send(text, options).subscribe({
    next: (event) => {
      answered = true;
      render(event);
    },
    error: (error) => {
      finish();
      if (!answered && NOT_SENT.has(error?.code)) {
        takeBack();
        offerReconnect(error);
        return;
      }
      meta.className = 'meta failed';
      meta.textContent = explain(error);
    },
    complete: () => {
      finish();
      conversations.decorateLast();
    },
  });
  running = {
    // Unsubscribing drops a message still waiting for the connection, or aborts one that went out.
    stop() {
      subscription.unsubscribe();
      finish();
      if (!answered) return takeBack();
      meta.className = 'meta stopped';
      meta.textContent = 'Stopped';
    },
  };
  if (subscription.closed) running = undefined; // it failed at once (no connection)
  return true;
}

const picker = createAttachmentPicker({
  button: $('attach'),
  fileInput: $('file-input'),
  dropZone: $('composer'),
  input,
  list: $('pending-attachments'),
  element,
});
$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  if (running) return;
  const text = input.value;
  input.value = '';
  input.style.height = '';
  if (picker.count === 0) {
    if (!ask(text) && !input.value) input.value = text;
    return;
  }
  picker.take().then(
    (attachments) => {
      if (ask(text, attachments)) return;
      if (!input.value) input.value = text;
      picker.restore(attachments.files);
    },
    (error) => {
      if (!input.value) input.value = text;
      showNotice(`An attachment could not be read: ${error?.message ?? error}`);
    },
  );
});
input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});
input.addEventListener('input', () => {
  input.style.height = '';
  input.style.height = `${Math.min(input.scrollHeight, 180)}px`;
});
stopButton.addEventListener('click', () => {
  if (!running) return;
  // Connected: the server stops the model and ends the reply with what it had, which the bubble keeps.
  // Not connected: there is no server to ask, so the page lets go of the reply itself.
  if (connectionStatus !== 'connected') return running.stop();
  client.abort().catch(() => running?.stop());
});
handleCopyButtons(messages);
/** An empty conversation on the page, headed `title`. */
function showEmpty(title) {
  messages.replaceChildren();
  const empty = element('div', 'empty');
  empty.id = 'empty';
  empty.append(element('h1', '', title), element('p', '', 'Ask something new.'));
  messages.append(empty);
}
$('clear').addEventListener('click', () => {
  if (running) return showNotice(explanations.busy);
  client.clearHistory().then(() => showEmpty('Conversation cleared'), report);
});

/** Streams a reply the page did not type (Regenerate, an edit) into a new assistant turn; `after` once it ends. */
function streamReply(reply$, after) {
  const { turn, bubble, meta, view } = assistantTurn();
  const render = replyRenderer(turn, bubble, meta, view);
  setBusy(true);
  scrollToEnd();
  const finish = () => {
    view.finish();
    bubble.classList.remove('streaming');
    running = undefined;
    setBusy(false);
  };
  const subscription = reply$.subscribe({
    next: render,
    error: (error) => {
      finish();
      meta.className = 'meta failed';
      meta.textContent = explain(error);
    },
    complete: () => {
      finish();
      after();
    },
  });
  running = {
    stop() {
      subscription.unsubscribe();
      finish();
      meta.className = 'meta stopped';
      meta.textContent = 'Stopped';
    },
  };
  if (subscription.closed) running = undefined;
}

conversations = createConversations({
  client,
  element,
  messages,
  addTurn,
  assistantTurn,
  scrollToEnd,
  report,
  saveSession,
  storedSessionId: storedSession?.sessionId,
  cleared: showEmpty,
  isRunning: () => running !== undefined,
  stream: streamReply,
  showAttachments: (container, items) => showAttachments(container, items, { element, query: location.search }),
});
for (const button of document.querySelectorAll('.suggestion')) {
  button.addEventListener('click', () => ask(button.textContent));
}

// Replies another tab of this conversation asked for, and the conversation shown to a tab that joins it.
followOtherTabs({
  client,
  joining: storedSession !== undefined,
  isRunning: () => running !== undefined,
  addTurn,
  assistantTurn,
  replyRenderer,
  element,
  scrollToEnd,
  showAttachments: (container, items) => showAttachments(container, items, { element, query: location.search }),
});

client.connect().catch(offerReconnect);
input.focus();
