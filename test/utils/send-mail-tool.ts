/**
 * The tool the approval tests share: `send_mail`, which waits for the user's yes before it runs.
 */
import type { TestScenario } from '../../src/testing/openai-scenarios';
import { defineTool, type Tool, type ToolContext } from '../../src/tools/types';

/** What the model passes `send_mail`. */
export interface MailArgs {
  readonly to?: string;
}

/** `send_mail`, needing approval; `execute` is what a run does (by default it answers `{ sent: true }`). */
export function sendMailTool(
  execute: (args: MailArgs, context: ToolContext) => unknown = () => ({ sent: true }),
): Tool<MailArgs> {
  return defineTool<MailArgs>({
    name: 'send_mail',
    description: 'Sends an e-mail',
    parameters: { type: 'object', properties: { to: { type: 'string' } } },
    needsApproval: true,
    execute,
  });
}

/** {@link sendMailTool} answering `{ sent: true }`, and the arguments of each of its runs. */
export function recordedSendMail(): { tool: Tool<MailArgs>; runs: MailArgs[] } {
  const runs: MailArgs[] = [];
  return {
    runs,
    tool: sendMailTool((args) => {
      runs.push(args);
      return { sent: true };
    }),
  };
}

/** The model's two turns of a mail to Ann: "Sending." with a `send_mail` call (`call_1`), then "Mail sent.". */
export const MAIL_ANN: readonly TestScenario[] = [
  { type: 'tool_calls', text: 'Sending.', calls: [{ id: 'call_1', name: 'send_mail', arguments: { to: 'ann' } }] },
  { type: 'text', chunks: ['Mail ', 'sent.'] },
];
