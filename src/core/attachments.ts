/**
 * The pictures and files of a `user_message`: checked against the server's limits (type, size
 * each and together, well-formed base64 and `data:` URLs), then stored by reference. History
 * keeps `{ mediaType, name, bytes, ref }` (or the remote `url`), never the bytes, so history
 * answers, replayed frames and the session store stay small; the model call reads the bytes back.
 */
import type { Attachment, HistoryAttachment } from '../protocol/codecs';

/**
 * Room in a `user_message` frame kept for everything but the attachments' base64, in bytes
 * (320 KiB): the longest text the server takes by default (100,000 UTF-16 units, at most 3 UTF-8
 * bytes each), the names and media types of 16 attachments, and the JSON around them.
 */
export const ATTACHMENT_FRAME_HEADROOM_BYTES = 320 * 1024;

/**
 * The most attachment bytes (decoded) a `user_message` frame of `maxPayloadBytes` carries with
 * room for its text: three quarters (base64 is 4/3 of the bytes) of what is left past
 * {@link ATTACHMENT_FRAME_HEADROOM_BYTES}. The attachment limits default to it, so that a message
 * at those limits always fits in the frame the server takes.
 */
export function attachmentBytesFor(maxPayloadBytes: number): number {
  return Math.max(0, Math.floor((maxPayloadBytes - ATTACHMENT_FRAME_HEADROOM_BYTES) / 4) * 3);
}

/**
 * Largest attachment taken unless configured, in bytes once decoded: 540,672 (528 KiB), what
 * fits in the default 1 MiB `maxPayload` ({@link attachmentBytesFor}). A server with another
 * `maxPayload` defaults to `attachmentBytesFor(maxPayload)`.
 */
export const DEFAULT_MAX_ATTACHMENT_BYTES = attachmentBytesFor(1024 * 1024);
/** Largest total of one message's attachments taken unless configured, in bytes once decoded: as {@link DEFAULT_MAX_ATTACHMENT_BYTES}. */
export const DEFAULT_MAX_MESSAGE_ATTACHMENT_BYTES = DEFAULT_MAX_ATTACHMENT_BYTES;
/**
 * Media types taken unless configured: pictures, PDF and plain text (as OpenAI-compatible models
 * take them as `image_url` and `file` parts) and WAV and MP3 audio (`input_audio`). `type/*`
 * matches every subtype.
 */
export const DEFAULT_ATTACHMENT_MEDIA_TYPES: readonly string[] = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'application/pdf',
  'text/plain',
  'audio/wav',
  'audio/mpeg',
];

/** How attachments are checked. */
export interface AttachmentLimits {
  readonly maxBytes: number;
  readonly maxMessageBytes: number;
  readonly mediaTypes: readonly string[];
  /** Whether remote `https:` URLs of pictures are passed on to the model. */
  readonly allowUrls: boolean;
}

/** Where attachments' bytes live, by reference. The server's memory unless a store says otherwise. */
export interface AttachmentStore {
  /** Keeps `data` (base64) and returns its reference (the same bytes give the same reference). */
  put(mediaType: string, data: string): string;
  /** The bytes (base64) and media type of `ref`, or undefined when gone or never stored. */
  get(ref: string): Promise<{ mediaType: string; data: string } | undefined>;
}

/** Why an attachment was refused, with its error code. */
export interface AttachmentProblem {
  readonly code: 'attachment_too_large' | 'unsupported_attachment' | 'invalid_attachment';
  readonly message: string;
}

/** An attachment as checked: what history keeps, and the bytes to store (absent for a remote URL). */
export interface CheckedAttachment {
  readonly history: HistoryAttachment;
  readonly data?: string;
}

/** Whether `mediaType` is allowed by `patterns` (exact, or `type/*`). */
function allowed(mediaType: string, patterns: readonly string[]): boolean {
  const slash = mediaType.indexOf('/');
  return patterns.some(
    (pattern) =>
      pattern === mediaType ||
      (pattern.endsWith('/*') && slash > 0 && pattern.slice(0, -1) === mediaType.slice(0, slash + 1)),
  );
}

/** The decoded length of base64 `data`, or undefined when it is not base64 (a loop: no regular expression over input). */
export function base64Bytes(data: string): number | undefined {
  if (data.length % 4 !== 0) return undefined;
  let padding = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    const isChar =
      (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 /* + */ || c === 47; /* / */
    if (c === 61 /* = */) {
      if (i < data.length - 2) return undefined;
      padding++;
    } else if (!isChar || padding > 0) return undefined;
  }
  return (data.length / 4) * 3 - padding;
}

/** `data:<type>[;params];base64,<data>` split, or undefined when malformed (only base64 data URLs are taken). */
function parseDataUrl(url: string): { mediaType: string; data: string } | undefined {
  const comma = url.indexOf(',');
  if (comma < 0) return undefined;
  const header = url.slice(5, comma);
  if (!header.endsWith(';base64')) return undefined;
  const mediaType = header.slice(0, header.indexOf(';')).toLowerCase();
  return { mediaType, data: url.slice(comma + 1) };
}

/**
 * Checks a message's attachments; the first one refused gives the problem. A `data:` URL is taken
 * as its bytes (stored like `data`); an `https:` URL of a picture is kept as the URL.
 */
export function checkAttachments(
  list: readonly Attachment[],
  limits: AttachmentLimits,
): { ok: true; attachments: CheckedAttachment[] } | { ok: false; problem: AttachmentProblem } {
  const attachments: CheckedAttachment[] = [];
  let total = 0;
  for (const [i, attachment] of list.entries()) {
    const which = `attachment ${i + 1}${attachment.name ? ` (${attachment.name})` : ''}`;
    const mediaType = attachment.mediaType.toLowerCase();
    const fail = (code: AttachmentProblem['code'], message: string) =>
      ({ ok: false, problem: { code, message: `${which}: ${message}` } }) as const;
    if (!allowed(mediaType, limits.mediaTypes))
      return fail(
        'unsupported_attachment',
        `${mediaType} is not taken; this server takes ${limits.mediaTypes.join(', ')}`,
      );
    const name = attachment.name === undefined ? {} : { name: attachment.name };
    let data = attachment.data;
    if (attachment.url !== undefined) {
      if (attachment.url.startsWith('data:')) {
        const parsed = parseDataUrl(attachment.url);
        if (!parsed) return fail('invalid_attachment', 'a data: URL must be data:<media type>;base64,<data>');
        if (parsed.mediaType !== mediaType)
          return fail(
            'invalid_attachment',
            `its data: URL says ${parsed.mediaType.slice(0, 100)}, its mediaType ${mediaType}`,
          );
        data = parsed.data;
      } else {
        let url: URL;
        try {
          url = new URL(attachment.url);
        } catch {
          return fail('invalid_attachment', 'url is not a URL');
        }
        if (url.protocol !== 'https:') return fail('unsupported_attachment', 'a remote url must be https:');
        if (!limits.allowUrls) return fail('unsupported_attachment', 'this server takes no remote urls: send the data');
        if (!mediaType.startsWith('image/'))
          return fail('unsupported_attachment', 'only pictures go by url (the model takes other files as data)');
        attachments.push({ history: { mediaType, ...name, url: url.href } });
        continue;
      }
    }
    const bytes = base64Bytes(data as string);
    if (bytes === undefined) return fail('invalid_attachment', 'data is not base64');
    if (bytes > limits.maxBytes)
      return fail(
        'attachment_too_large',
        `${bytes} bytes; this server takes at most ${limits.maxBytes} per attachment`,
      );
    total += bytes;
    if (total > limits.maxMessageBytes)
      return {
        ok: false,
        problem: {
          code: 'attachment_too_large',
          message: `the attachments add up to more than ${limits.maxMessageBytes} bytes, the most this server takes per message`,
        },
      };
    attachments.push({ history: { mediaType, ...name, bytes }, data });
  }
  return { ok: true, attachments };
}
