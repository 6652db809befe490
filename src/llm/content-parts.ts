/**
 * A user message's attachments as Chat Completions content parts: pictures as `image_url` (a
 * `data:` URL of the stored bytes, or the remote URL the model fetches itself), WAV and MP3 as
 * `input_audio`, other files (PDF, text) as `file` with `file_data`. Bytes no longer stored are
 * named in a text part, so the model knows something was there.
 */
import type { ChatCompletionContentPart } from 'openai/resources/chat/completions';
import type { HistoryAttachment, HistoryMessage } from '../protocol/codecs';
import type { LLMRequest } from './types';

/** Attachment bytes by ref, read once for a request. */
export type AttachmentBytes = ReadonlyMap<string, { mediaType: string; data: string }>;

/** Reads every attachment the request's messages name (none when they name none: no awaiting on the hot path). */
export async function readAttachments(request: LLMRequest): Promise<AttachmentBytes> {
  const refs = new Set<string>();
  for (const message of request.messages)
    for (const attachment of message.attachments ?? []) if (attachment.ref) refs.add(attachment.ref);
  const bytes = new Map<string, { mediaType: string; data: string }>();
  if (refs.size === 0 || !request.attachmentData) return bytes;
  const read = request.attachmentData;
  await Promise.all(
    [...refs].map(async (ref) => {
      const found = await read(ref).catch(() => undefined);
      if (found) bytes.set(ref, found);
    }),
  );
  return bytes;
}

function partOf(attachment: HistoryAttachment, bytes: AttachmentBytes): ChatCompletionContentPart {
  const label = attachment.name ?? attachment.mediaType;
  if (attachment.url) return { type: 'image_url', image_url: { url: attachment.url } };
  const stored = attachment.ref ? bytes.get(attachment.ref) : undefined;
  if (!stored) return { type: 'text', text: `[attachment ${label} is no longer available]` };
  const { mediaType } = attachment;
  if (mediaType.startsWith('image/'))
    return { type: 'image_url', image_url: { url: `data:${mediaType};base64,${stored.data}` } };
  if (mediaType === 'audio/wav' || mediaType === 'audio/mpeg')
    return {
      type: 'input_audio',
      input_audio: { data: stored.data, format: mediaType === 'audio/wav' ? 'wav' : 'mp3' },
    };
  return {
    type: 'file',
    file: { file_data: `data:${mediaType};base64,${stored.data}`, filename: attachment.name ?? 'attachment' },
  };
}

/** The content of a user message: its text, or its text and its attachments as parts. */
export function userContent(message: HistoryMessage, bytes: AttachmentBytes): string | ChatCompletionContentPart[] {
  if (!message.attachments?.length) return message.content;
  return [
    ...(message.content === '' ? [] : [{ type: 'text' as const, text: message.content }]),
    ...message.attachments.map((attachment) => partOf(attachment, bytes)),
  ];
}
