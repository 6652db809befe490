/**
 * The checks the OpenAI API makes on a chat request that a conversation manager can get wrong,
 * so tests against the test server fail where the real API would. Returns the API's complaint,
 * or undefined for a valid request.
 */
export function validateChatRequest(body: any): string | undefined {
  if (typeof body?.model !== 'string' || body.model === '') return 'you must provide a model parameter';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return "'messages' must be a non-empty array";
  if (body.tool_choice !== undefined && !(Array.isArray(body.tools) && body.tools.length > 0)) {
    return "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.";
  }
  let unanswered = new Set<string>();
  for (const [i, message] of (body.messages as any[]).entries()) {
    if (!['system', 'user', 'assistant', 'tool', 'developer'].includes(message?.role)) {
      return `Invalid value for 'messages[${i}].role': ${JSON.stringify(message?.role)}`;
    }
    if (message.role === 'tool') {
      if (!unanswered.delete(message.tool_call_id)) {
        return `Invalid parameter: messages with role 'tool' must be a response to a preceding message with 'tool_calls' (messages[${i}]).`;
      }
      continue;
    }
    if (unanswered.size > 0) {
      return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. Missing: ${[...unanswered].join(', ')} (messages[${i}]).`;
    }
    if (message.role === 'user' && Array.isArray(message.content)) {
      const problem = contentPartProblem(message.content as unknown[]);
      if (problem) return `Invalid 'messages[${i}].content': ${problem}`;
    } else if (message.role !== 'assistant' && typeof message.content !== 'string') {
      return `Invalid type for 'messages[${i}].content': expected a string.`;
    }
    unanswered = new Set((message.tool_calls ?? []).map((call: any) => call.id));
  }
  if (unanswered.size > 0) {
    return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. Missing: ${[...unanswered].join(', ')}.`;
  }
  return undefined;
}

/** What the API would say of a user message's content parts, or undefined for valid ones. */
function contentPartProblem(parts: readonly any[]): string | undefined {
  if (parts.length === 0) return 'expected a non-empty array of content parts';
  for (const [j, part] of parts.entries()) {
    const ok =
      (part?.type === 'text' && typeof part.text === 'string') ||
      (part?.type === 'image_url' && typeof part.image_url?.url === 'string') ||
      (part?.type === 'input_audio' &&
        typeof part.input_audio?.data === 'string' &&
        ['wav', 'mp3'].includes(part.input_audio?.format)) ||
      (part?.type === 'file' && (typeof part.file?.file_data === 'string' || typeof part.file?.file_id === 'string'));
    if (!ok) return `content part ${j} is not a valid text, image_url, input_audio or file part`;
  }
  return undefined;
}
