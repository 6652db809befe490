/**
 * A reply, split: the round loop (./run-reply.ts), one model call (./model-round.ts), one round
 * of tool calls (./tool-round.ts), the per-reply state (./reply-state.ts) and the limits
 * (./limits.ts). Error mapping is the connection's catch-all (../error-message.ts).
 */
export { runReply } from './run-reply';
export type { ClientToolsCheck, HumanInTheLoopOptions, ReplyAnswers, ReplyContext, ReplyTimings } from './context';
export {
  DEFAULT_MAX_REPLY_TEXT_BYTES,
  DEFAULT_MAX_TOOL_ARGUMENTS_BYTES,
  DEFAULT_MAX_TOOL_STEPS,
  DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
  type ReplyLimits,
} from './limits';
