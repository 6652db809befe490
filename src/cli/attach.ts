/** The files of `llm-ws chat --attach FILE`, read as attachments of the message sent. */
import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Attachment } from '../protocol/codecs';

/** Media types by file extension: what servers take by default (see DEFAULT_ATTACHMENT_MEDIA_TYPES). */
const MEDIA_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.md': 'text/plain',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
};

/** Largest file `--attach` reads (the server has its own, usually lower, limit), in bytes. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

/** Reads each file as an attachment; throws a message for the user for a file it cannot send. */
export function readAttachmentFiles(paths: readonly string[]): Attachment[] {
  return paths.map((path) => {
    const mediaType = MEDIA_TYPES[extname(path).toLowerCase()];
    if (!mediaType)
      throw new Error(`--attach ${path}: unknown file type (takes ${Object.keys(MEDIA_TYPES).join(' ')})`);
    let size: number;
    try {
      size = statSync(path).size;
    } catch (error) {
      throw new Error(`--attach ${path}: ${(error as Error).message}`, { cause: error });
    }
    if (size > MAX_FILE_BYTES) throw new Error(`--attach ${path}: larger than ${MAX_FILE_BYTES} bytes`);
    return { mediaType, data: readFileSync(path).toString('base64'), name: basename(path) };
  });
}
