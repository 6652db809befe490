/** Longest message id the server accepts from a client. */
export const MAX_MESSAGE_ID_LENGTH = 128;
