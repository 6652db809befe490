/**
 * What the TestBed page (specs.ts) exposes to the Jest side as `window.llmWsSpecs`: each spec's
 * arguments and what it reports. Free of Angular imports, so the Jest side type-checks without them.
 */

/** Change detection driven by zone.js (with the fixture following the zone), or zoneless. */
export type Mode = 'zone' | 'zoneless';

/** A message as the example component renders it. */
export interface RenderedMessage {
  readonly role: string;
  readonly status: string;
  readonly text: string;
  /** Each tool call's text, whitespace collapsed. */
  readonly tools: string[];
}

export interface Specs {
  streamOneReply(
    url: string,
    mode: Mode,
    question: string,
  ): Promise<{
    /** Streams that delivered a value outside Angular's zone (zone mode only). */
    emittedOutsideZone: string[];
    /** `NgZone.run` calls made while the page handled the socket's frames. */
    zoneRunsInFrames: number;
    /** The service's signals agree with what was rendered. */
    signalsMatch: { status: boolean; busy: boolean; messages: boolean };
    stableWhenConnected: boolean;
    stableAfterReply: boolean;
    connectionShown: string | null;
    sessionShown: string | null;
    /** Every distinct text the reply showed while it streamed. */
    replyTextsShown: string[];
    messages: RenderedMessage[];
    sendDisabled: boolean | undefined;
  }>;
  lateSubscriber(url: string): Promise<{ before: string | null; after: string | null; count: string | null }>;
  ownChatStart(url: string): Promise<{ stable: boolean; shown: string | null }>;
  ownChatDestroy(): Promise<{ ended: string; statuses: string[] }>;
  serverPlatform(url: string): Promise<{
    stable: boolean;
    socketsOpened: number;
    shown: string | null;
    messages: number;
    hasClient: boolean;
    sendError: string;
  }>;
  abortReply(
    url: string,
    question: string,
    shownBeforeStop: string,
  ): Promise<{ stable: boolean; messages: RenderedMessage[]; busy: boolean }>;
  clearConversation(url: string): Promise<{
    emittedOutsideZone: string[];
    historyBefore: number;
    historyAfter: number;
    messagesShown: number;
    stable: boolean;
  }>;
  reset(): void;
  conversations(url: string): Promise<{
    idsAfterSend: boolean[];
    replyBranch: string;
    afterEdit: { texts: string[]; userBranch: number };
    afterSwitch: string[];
    usage: unknown;
    titlesAfterRename: string[];
    firstPage: number;
    more: boolean;
    bothPages: string[];
    opened: string[];
    titlesAfterDelete: string[];
  }>;
}
