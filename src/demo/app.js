// The demo chat page. Plain browser JavaScript over the project's own browser build of
// llm-ws/client (served beside this file): no framework, no second client.
import { WSClient } from '/llm-ws-client.js';

const $ = (id) => document.getElementById(id);
const messages = $('messages');
const input = $('input');
const sendButton = $('send');
const stopButton = $('stop');
const notice = $('notice');
const connection = $('connection');
const connectionText = $('connection-text');

// The page's own query (for example ?token=...) goes to the WebSocket, so a protected server works.
const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
const client = new WSClient({ url: `${scheme}://${location.host}/ws${location.search}`, reconnectAttempts: 10 });

/** Errors in words a person can act on, by code. */
const explanations = {
  busy: 'Please wait for the current answer to finish, or press Stop.',
  upstream_error: 'The model service failed to answer.',
  upstream_timeout: 'The model service stopped responding.',
  rate_limited: 'Too many messages at once: wait a moment and try again.',
  message_too_long: 'That message is too long for this server.',
  session_lost: 'The server restarted, so this conversation was lost. You can carry on with a new one.',
  resume_gap: 'Part of the answer was lost while the connection was down.',
  reconnect_failed: 'The server cannot be reached. Reload the page to try again.',
  connection_refused: 'The server refused the connection (a missing or wrong access token?).',
  disconnected: 'Disconnected.',
  queue_full: 'Too many messages are waiting for the connection.',
  internal_error: 'Something went wrong on the server.',
};
const explain = (error) => {
  const words = explanations[error?.code];
  return words ? `${words}${error.code.startsWith('upstream') ? ` (${error.message})` : ''}` : error?.message ?? String(error);
};

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

// --- connection indicator, with a countdown while reconnecting ---------------------------------
let countdown;
function setConnection(state, text) {
  clearInterval(countdown);
  connection.dataset.state = state;
  connectionText.textContent = text;
}
client.status$.subscribe((status) => {
  if (status === 'connected') {
    setConnection('connected', 'Connected');
    if (!notice.dataset.sticky) showNotice('');
  } else if (status === 'connecting') setConnection('connecting', 'Connecting…');
  else if (status === 'disconnected') setConnection('disconnected', 'Disconnected');
});
client.reconnecting$.subscribe(({ attempt, delayMs }) => {
  const at = Date.now() + delayMs;
  const tick = () => {
    const seconds = Math.max(0, Math.ceil((at - Date.now()) / 1000));
    connectionText.textContent = seconds > 0 ? `Reconnecting in ${seconds}s (attempt ${attempt})` : `Reconnecting (attempt ${attempt})…`;
  };
  setConnection('reconnecting', '');
  tick();
  countdown = setInterval(tick, 250);
});
client.errors$.subscribe((error) => {
  if (error.code === 'reconnect_failed' || error.code === 'connection_refused') {
    notice.dataset.sticky = 'yes';
    showNotice(explain(error));
  }
});

// --- the conversation ---------------------------------------------------------------------------
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text; // text only: nothing from the model is parsed as HTML
  return node;
}

function addTurn(role) {
  $('empty')?.remove();
  const turn = element('div', `turn ${role}`);
  messages.append(turn);
  return turn;
}

function scrollToEnd() {
  messages.scrollTop = messages.scrollHeight;
}

function toolCard(turn, before, call) {
  const card = element('div', 'tool');
  card.dataset.state = 'start';
  const head = element('div', 'tool-head');
  head.append(element('span', 'tool-badge', 'tool'), element('span', '', call.toolName), element('span', 'tool-state', 'running…'));
  card.append(head, element('pre', 'tool-args', JSON.stringify(call.args)));
  turn.insertBefore(card, before);
  return card;
}

let running; // the reply being streamed: { subscription }

function setBusy(busy) {
  sendButton.hidden = busy;
  stopButton.hidden = !busy;
  input.placeholder = busy ? 'Answering… (Stop interrupts)' : 'Message…';
}

function ask(text) {
  if (running || !text.trim()) return;
  showNotice('');
  addTurn('user').append(element('div', 'bubble', text));
  const turn = addTurn('assistant');
  const bubble = element('div', 'bubble streaming');
  const meta = element('div', 'meta');
  turn.append(bubble, meta);
  const cards = new Map();
  setBusy(true);
  scrollToEnd();

  const finish = () => {
    bubble.classList.remove('streaming');
    running = undefined;
    setBusy(false);
    input.focus();
  };
  running = {
    subscription: client.send(text).subscribe({
      next: (event) => {
        if (event.type === 'llm_chunk') bubble.textContent += event.data.chunk;
        else if (event.type === 'tool_call') {
          const card = cards.get(event.data.toolCallId) ?? toolCard(turn, bubble, event.data);
          cards.set(event.data.toolCallId, card);
          card.dataset.state = event.data.status;
        } else if (event.type === 'tool_result') {
          const card = cards.get(event.data.toolCallId);
          if (card) {
            const failed = event.data.error !== undefined;
            card.dataset.state = failed ? 'error' : 'complete';
            card.querySelector('.tool-state').textContent = failed ? 'failed' : 'done';
            card.append(element('pre', 'tool-result', failed ? event.data.error : `→ ${JSON.stringify(event.data.result)}`));
          }
        } else if (event.type === 'llm_complete') {
          const { finishReason, usage } = event.data;
          if (finishReason === 'aborted') {
            meta.className = 'meta stopped';
            meta.textContent = 'Stopped';
          } else {
            meta.textContent = usage ? `${usage.totalTokens} tokens` : '';
          }
        }
        scrollToEnd();
      },
      error: (error) => {
        meta.className = 'meta failed';
        meta.textContent = explain(error);
        finish();
      },
      complete: finish,
    }),
  };
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = input.value;
  input.value = '';
  input.style.height = '';
  ask(text);
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
  // The server stops the model and ends the reply with what it had: the bubble keeps that text.
  client.abort().catch((error) => showNotice(explain(error)));
});
$('clear').addEventListener('click', () => {
  if (running) return showNotice(explanations.busy);
  client.clearHistory().then(
    () => {
      messages.replaceChildren();
      const empty = element('div', 'empty');
      empty.id = 'empty';
      empty.append(element('h1', '', 'Conversation cleared'), element('p', '', 'Ask something new.'));
      messages.append(empty);
    },
    (error) => showNotice(explain(error)),
  );
});
for (const button of document.querySelectorAll('.suggestion')) {
  button.addEventListener('click', () => ask(button.textContent));
}

client.connect().catch((error) => showNotice(explain(error)));
input.focus();
