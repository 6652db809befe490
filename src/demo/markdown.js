// Markdown for the demo page: marked turns the model's text into HTML, DOMPurify sanitises it,
// and a streaming view re-renders only the reply's last blocks as chunks arrive.
// Bundled with marked and DOMPurify into /markdown.js by scripts/build-demo.ts.
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

const escapeHtml = (text) =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]);

const md = new Marked({
  gfm: true,
  renderer: {
    // Raw HTML in the model's text is shown as text, the way chat apps show it: a model explaining
    // HTML must not have its examples vanish, and nothing it writes becomes markup.
    html({ text, block }) {
      return block ? `<p>${escapeHtml(text)}</p>\n` : escapeHtml(text);
    },
    // Images become links: a remote image would load (and could carry the conversation to its
    // host in its URL) without anyone clicking. The page's CSP blocks them too.
    image({ href, text }) {
      return `<a href="${escapeHtml(href)}">${escapeHtml(text || href)}</a>`;
    },
  },
});

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});

/** DOMPurify's settings: marked's output only, no inline styles (the page's CSP refuses them). */
const PURIFY = {
  RETURN_DOM_FRAGMENT: true,
  FORBID_ATTR: ['style'],
  FORBID_TAGS: ['style', 'form', 'button', 'textarea', 'select'],
};

/** Wraps code blocks with a header holding the language and a Copy button, and tables in a scroller. */
function decorate(fragment) {
  for (const pre of fragment.querySelectorAll('pre')) {
    const code = pre.querySelector('code');
    const language = /(?:^|\s)language-([\w+#.-]+)/.exec(code?.className ?? '')?.[1] ?? '';
    const block = document.createElement('div');
    block.className = 'code-block';
    const head = document.createElement('div');
    head.className = 'code-head';
    const label = document.createElement('span');
    label.textContent = language || 'code';
    const copy = document.createElement('button');
    copy.type = 'button';
    copy.className = 'copy';
    copy.textContent = 'Copy';
    copy.setAttribute('aria-label', 'Copy code');
    head.append(label, copy);
    pre.replaceWith(block);
    block.append(head, pre);
  }
  for (const table of fragment.querySelectorAll('table')) {
    const scroller = document.createElement('div');
    scroller.className = 'table-scroll';
    table.replaceWith(scroller);
    scroller.append(table);
  }
  return fragment;
}

/** marked's tokens as a sanitised, decorated DOM fragment. */
function fragmentOf(tokens) {
  return decorate(DOMPurify.sanitize(md.parser(tokens), PURIFY));
}

/** Markdown text as a sanitised DOM fragment, all at once. */
export function renderMarkdown(text) {
  return fragmentOf(md.lexer(text.replace(/\r\n?/g, '\n')));
}

/**
 * Lexes the part of a reply not yet frozen. Every block but the last two (blank lines aside) is
 * final: text appended later can only change the block being written, or join it to the one
 * before (a list item after a blank line joins the list above). Reference definitions from
 * frozen blocks are carried over, so `[text][ref]` still resolves; a definition that arrives
 * after a frozen block using it is the one case where the finished reply differs from a
 * one-shot render (the link stays as text: models rarely write reference links).
 */
function lexTail(tail, links, final) {
  const lexer = new md.Lexer(md.defaults);
  Object.assign(lexer.tokens.links, links);
  const tokens = lexer.lex(tail);
  let cut = tokens.length;
  for (let open = 0; !final && cut > 0 && open < 2;) if (tokens[--cut].type !== 'space') open++;
  return { stable: tokens.slice(0, cut), live: tokens.slice(cut) };
}

/**
 * A reply's markdown, rendered while it streams. `append()` only stores the text; rendering
 * happens at most once per animation frame, and further apart when a render is slow (never more
 * than about a third of the main thread), so a reply of thousands of chunks costs a few renders
 * per second. Finished blocks are rendered once and kept; only the last blocks are redone.
 */
export function createMarkdownView(container, { onRender } = {}) {
  let text = '';
  let frozenChars = 0;
  const links = Object.create(null);
  let liveNodes = [];
  let frame = 0;
  let timer;
  let notBefore = 0;

  const render = (final) => {
    frame = 0;
    const started = performance.now();
    const tail = text.slice(frozenChars);
    const { stable, live } = lexTail(tail, links, final);
    const stableRaw = stable.map((token) => token.raw).join('');
    // Freeze only when the tokens account for the text exactly; otherwise redo it all next time.
    const freeze = stable.length > 0 && tail.startsWith(stableRaw);
    for (const node of liveNodes) node.remove();
    if (freeze) {
      container.append(fragmentOf(stable));
      frozenChars += stableRaw.length;
      for (const token of stable)
        if (token.type === 'def' && !links[token.tag]) links[token.tag] = { href: token.href, title: token.title };
    }
    const fragment = fragmentOf(freeze ? live : [...stable, ...live]);
    liveNodes = [...fragment.childNodes];
    container.append(fragment);
    const took = performance.now() - started;
    notBefore = performance.now() + 2 * took;
    onRender?.();
  };

  const schedule = () => {
    if (frame || timer) return;
    const wait = notBefore - performance.now();
    if (wait > 0) {
      timer = setTimeout(() => {
        timer = undefined;
        schedule();
      }, wait);
      return;
    }
    frame = requestAnimationFrame(() => render(false));
  };

  return {
    /** Adds a chunk of the reply; it shows at the next render. */
    append(chunk) {
      text += chunk.replace(/\r\n?/g, '\n');
      schedule();
    },
    /** Renders what is left now: the reply is complete (or stopped). */
    finish() {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
      frame = 0;
      timer = undefined;
      render(true);
    },
    /** The reply's text so far. */
    get text() {
      return text;
    },
  };
}

/** Copies a code block's text when its Copy button is pressed (one listener for the whole page). */
export function handleCopyButtons(root) {
  root.addEventListener('click', (event) => {
    const button = event.target.closest?.('.copy');
    const code = button?.closest('.code-block')?.querySelector('pre code, pre');
    if (!code) return;
    copyText(code.textContent).then(
      () => flash(button, 'Copied'),
      () => flash(button, 'Copy failed'),
    );
  });
}

/** The clipboard API where the page is a secure context; a selection and execCommand elsewhere (plain http on a LAN). */
async function copyText(text) {
  if (navigator.clipboard?.writeText) return navigator.clipboard.writeText(text);
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  const copied = document.execCommand('copy');
  area.remove();
  if (!copied) throw new Error('copy refused');
}

function flash(button, label) {
  button.textContent = label;
  clearTimeout(button.flashTimer);
  button.flashTimer = setTimeout(() => (button.textContent = 'Copy'), 1500);
}
