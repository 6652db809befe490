export {
  redisStore,
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  DEFAULT_REDIS_LEASE_MS,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_REDIS_URL,
  type RedisClient,
  type RedisStoreOptions,
} from './redis-store';
export { redisConversationBindings, type RedisConversationBindingsOptions } from './conversation-bindings';
export { redisQuotaCounter, type RedisQuotaCounterOptions } from './quota-counter';
export { redisAttachmentStore, DEFAULT_REDIS_ATTACHMENT_TTL_MS, type RedisAttachmentStoreOptions } from './attachments';
