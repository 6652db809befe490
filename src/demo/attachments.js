// Pictures and files in the demo page: picked by button, dropped on the composer or pasted, sent
// with the message, and shown in the conversation (a thumbnail for a picture, a chip with the name
// for any other file), also for history the server answers after a reload. Plain browser
// JavaScript, bundled into app.js.
//
// No markup from anyone: names and media types (the user's own, or the server's in history) only
// ever become text. A thumbnail's src is only ever a blob: URL this page made, from the user's own
// File or from the bytes of GET /attachments/<ref> on this page's origin: never a URL a message
// carries (a remote picture shows as a chip, and the page fetches nothing from elsewhere).

/** The shape of an attachment's reference on the server: `sha256-` and 64 hex digits. */
const REF = /^sha256-[0-9a-f]{64}$/;

/** Reads a File as base64 (without the `data:` prefix). */
function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.readAsDataURL(file);
  });
}

/**
 * Shows `items` ({ mediaType, name, blob?, ref?, url? }) in `container`: a picture whose bytes are
 * here (`blob`) or on the server (`ref`) as a thumbnail, anything else as a chip with its name.
 * `query` is the page's query (the access token), sent with the fetch of a stored attachment.
 */
export function showAttachments(container, items, { element, query = '' }) {
  if (!items?.length) return;
  const list = element('div', 'attachments');
  for (const item of items) {
    const mediaType = typeof item.mediaType === 'string' ? item.mediaType : '';
    const name = typeof item.name === 'string' && item.name ? item.name : mediaType || 'file';
    const chip = element('span', 'attachment-chip', name);
    chip.title = mediaType;
    list.append(chip);
    if (!mediaType.startsWith('image/')) continue;
    const picture = (blob) => {
      const img = element('img', 'attachment-thumb');
      img.alt = name;
      img.title = name;
      img.src = URL.createObjectURL(blob);
      chip.replaceWith(img);
    };
    if (item.blob instanceof Blob) picture(item.blob);
    else if (typeof item.ref === 'string' && REF.test(item.ref)) {
      fetch(`/attachments/${item.ref}${query}`).then(
        (response) => (response.ok ? response.blob().then(picture) : undefined),
        () => undefined, // gone from the server's store: the chip stays
      );
    }
  }
  container.append(list);
}

/**
 * The composer's attachments: a hidden file input behind `button`, files dropped on `dropZone` or
 * pasted into `input`, listed in `list` with a button to take each off. `take()` reads them for
 * the wire (`{ mediaType, name, data }`) and for showing (`{ mediaType, name, blob }`), and
 * empties the list.
 */
export function createAttachmentPicker({ button, fileInput, dropZone, input, list, element }) {
  let files = [];

  function render() {
    list.replaceChildren();
    list.hidden = files.length === 0;
    files.forEach((file, index) => {
      const chip = element('span', 'attachment-chip pending', file.name || file.type || 'file');
      chip.title = `${file.type || 'unknown type'}, ${file.size} bytes`;
      const remove = element('button', 'attachment-remove', '×');
      remove.type = 'button';
      remove.setAttribute('aria-label', `Remove ${file.name || 'attachment'}`);
      remove.addEventListener('click', () => {
        files = files.filter((_, i) => i !== index);
        render();
      });
      chip.append(remove);
      list.append(chip);
    });
  }
  const add = (given) => {
    const taken = [...given].filter((file) => file instanceof File);
    if (taken.length === 0) return false;
    files = [...files, ...taken];
    render();
    return true;
  };

  button.addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => {
    add(fileInput.files ?? []);
    fileInput.value = '';
  });
  input.addEventListener('paste', (event) => {
    // Pasted text stays text; pasted pictures and files are attached.
    if (add(event.clipboardData?.files ?? [])) event.preventDefault();
  });
  dropZone.addEventListener('dragover', (event) => {
    if (![...(event.dataTransfer?.types ?? [])].includes('Files')) return;
    event.preventDefault();
    dropZone.classList.add('dropping');
  });
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dropping'));
  dropZone.addEventListener('drop', (event) => {
    dropZone.classList.remove('dropping');
    if (add(event.dataTransfer?.files ?? [])) event.preventDefault();
  });
  render();

  return {
    get count() {
      return files.length;
    },
    async take() {
      const taken = files;
      files = [];
      render();
      const wire = await Promise.all(
        taken.map(async (file) => ({
          mediaType: file.type || 'application/octet-stream',
          ...(file.name ? { name: file.name } : {}),
          data: await base64Of(file),
        })),
      );
      const shown = taken.map((file) => ({ mediaType: file.type, name: file.name, blob: file }));
      return { wire, shown, files: taken };
    },
    /** Puts files back (the message was not sent). */
    restore(taken) {
      files = [...taken, ...files];
      render();
    },
  };
}
