/**
 * The TestBed specs, run in Chromium by test/angular/testbed.test.ts: each function sets up
 * TestBed, drives a component against the live server whose URL it is given, and returns what
 * it observed for the Jest side to assert. Angular runs in JIT mode here (no builder involved).
 */
import 'zone.js';
import '@angular/compiler';
import {
  NgZone,
  PLATFORM_ID,
  provideZoneChangeDetection,
  provideZonelessChangeDetection,
  type Provider,
  type Type,
} from '@angular/core';
import { type ComponentFixture, ComponentFixtureAutoDetect, TestBed } from '@angular/core/testing';
import { BrowserTestingModule, platformBrowserTesting } from '@angular/platform-browser/testing';
import { filter, firstValueFrom, lastValueFrom, type Observable } from 'rxjs';
import { type ChatMessage, LlmWsChat, provideLlmWs } from 'llm-ws/angular';
import { ChatComponent } from '../../../examples/angular/chat.component';
import { LateStatusComponent, OwnChatComponent, SERVER_URL } from './components';
import type { Mode, RenderedMessage, Specs } from './specs-api';

TestBed.initTestEnvironment(BrowserTestingModule, platformBrowserTesting());

// Every WebSocket the page opens, whoever opens it.
let socketsOpened = 0;
const NativeWebSocket = globalThis.WebSocket;
globalThis.WebSocket = new Proxy(NativeWebSocket, {
  construct(target, args: [string, (string | string[])?]) {
    socketsOpened++;
    return new target(...args);
  },
});

/** How long `whenStable()` may take before a spec reports that it did not settle. */
const STABLE_WITHIN_MS = 5000;

/** Whether `fixture.whenStable()` settles; the guard's timer runs in the root zone, so it cannot hold Angular's zone itself. */
async function settles(fixture: ComponentFixture<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<boolean>((resolve) =>
    Zone.root.run(() => (timer = setTimeout(() => resolve(false), STABLE_WITHIN_MS))),
  );
  const stable = await Promise.race([fixture.whenStable().then(() => true), expired]);
  clearTimeout(timer);
  return stable;
}

function configure(mode: Mode, providers: Provider[]): void {
  TestBed.resetTestingModule();
  TestBed.configureTestingModule({
    providers: [
      mode === 'zone' ? provideZoneChangeDetection() : provideZonelessChangeDetection(),
      // The fixture re-renders on its own: in zone mode only when emissions come back into the zone.
      { provide: ComponentFixtureAutoDetect, useValue: true },
      ...providers,
    ],
  });
}

const until = <T>(source$: Observable<T>, test: (value: T) => boolean): Promise<T> =>
  firstValueFrom(source$.pipe(filter(test)));
const replyEnded = (messages: readonly ChatMessage[]): boolean =>
  messages.some((message) => message.role === 'assistant' && message.status !== 'streaming');

function text(fixture: ComponentFixture<unknown>, selector: string): string | null {
  return (fixture.nativeElement as HTMLElement).querySelector(selector)?.textContent?.trim() ?? null;
}

/** The rendered conversation: role, status and text of each message. */
function renderedMessages(fixture: ComponentFixture<unknown>): RenderedMessage[] {
  return Array.from((fixture.nativeElement as HTMLElement).querySelectorAll('ol.messages > li')).map((item) => ({
    role: item.className,
    status: (item as HTMLElement).dataset['status'] ?? '',
    text: item.querySelector('.text')?.textContent ?? '',
    tools: Array.from(item.querySelectorAll('.tool')).map((tool) =>
      (tool.textContent ?? '').replace(/\s+/g, ' ').trim(),
    ),
  }));
}

/** Types `text` into the example's form and presses Send, as a person does. */
function typeAndSend(fixture: ComponentFixture<unknown>, value: string): void {
  const element = fixture.nativeElement as HTMLElement;
  (element.querySelector('input[name="text"]') as HTMLInputElement).value = value;
  (element.querySelector('button.send') as HTMLButtonElement).click();
}

/** Every distinct text the assistant's message showed, as the DOM changed. */
function recordReplyTexts(fixture: ComponentFixture<unknown>): { texts: string[]; stop: () => void } {
  const element = fixture.nativeElement as HTMLElement;
  const texts: string[] = [];
  const observer = new MutationObserver(() => {
    const shown = element.querySelector('li.assistant .text')?.textContent;
    if (shown && texts[texts.length - 1] !== shown) texts.push(shown);
  });
  observer.observe(element, { subtree: true, childList: true, characterData: true });
  return { texts, stop: () => observer.disconnect() };
}

let current: ComponentFixture<unknown> | undefined;

/**
 * Counts `NgZone.run` calls made while a WebSocket message is being handled: the client's frames
 * reaching Angular. With zone.js each delivery enters the zone; zoneless there must be none.
 */
function countZoneRunsPerFrame(zone: NgZone): { runs: () => number; stop: () => void } {
  let handling = false;
  let runs = 0;
  const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage') as PropertyDescriptor;
  Object.defineProperty(WebSocket.prototype, 'onmessage', {
    configurable: true,
    get(this: WebSocket) {
      return descriptor.get?.call(this);
    },
    set(this: WebSocket, handler: ((event: MessageEvent) => unknown) | null) {
      descriptor.set?.call(
        this,
        handler &&
          ((event: MessageEvent) => {
            handling = true;
            try {
              return handler.call(this, event);
            } finally {
              handling = false;
            }
          }),
      );
    },
  });
  const run = zone.run;
  zone.run = function (this: NgZone, ...args: Parameters<NgZone['run']>) {
    if (handling) runs++;
    return run.apply(this, args);
  } as NgZone['run'];
  return {
    runs: () => runs,
    stop: () => {
      Object.defineProperty(WebSocket.prototype, 'onmessage', descriptor);
      zone.run = run;
    },
  };
}

function create<T>(component: Type<T>): ComponentFixture<T> {
  const fixture = TestBed.createComponent(component);
  current = fixture;
  return fixture;
}

/** Records the streams that deliver a value outside Angular's zone (the replay at subscription aside). */
function watchZone(streams: Record<string, Observable<unknown>>): { outside: Set<string>; stop: () => void } {
  const outside = new Set<string>();
  const subscriptions = Object.entries(streams).map(([name, stream$]) => {
    let replaying = true;
    const subscription = stream$.subscribe(() => {
      if (!replaying && !NgZone.isInAngularZone()) outside.add(name);
    });
    replaying = false;
    return subscription;
  });
  return { outside, stop: () => subscriptions.forEach((subscription) => subscription.unsubscribe()) };
}

/** The example chat streams one reply, rendered chunk by chunk, and the fixture settles while the socket stays open. */
async function streamOneReply(url: string, mode: Mode, question: string) {
  configure(mode, [provideLlmWs({ url, heartbeatInterval: 1000 })]);
  // Before the socket is made: its onmessage handler is wrapped when the client sets it.
  const zoneRuns = countZoneRunsPerFrame(TestBed.inject(NgZone));
  const fixture = create(ChatComponent);
  const chat = TestBed.inject(LlmWsChat);
  await until(chat.status$, (status) => status === 'connected');
  const stableWhenConnected = await settles(fixture);
  const connectionShown = text(fixture, '.connection');
  const zone = watchZone({
    status$: chat.status$,
    sessionStatus$: chat.sessionStatus$,
    messages$: chat.messages$,
    busy$: chat.busy$,
  });
  const recording = recordReplyTexts(fixture);
  typeAndSend(fixture, question);
  await until(chat.messages$, replyEnded);
  // The server reports its session idle right after the reply's llm_complete.
  await until(chat.sessionStatus$, (status) => status === 'idle');
  const stableAfterReply = await settles(fixture);
  recording.stop();
  zone.stop();
  zoneRuns.stop();
  return {
    zoneRunsInFrames: zoneRuns.runs(),
    // Zoneless, there is no Angular zone to be in.
    emittedOutsideZone: mode === 'zone' ? [...zone.outside] : [],
    stableWhenConnected,
    stableAfterReply,
    connectionShown,
    sessionShown: text(fixture, '.session'),
    replyTextsShown: recording.texts,
    messages: renderedMessages(fixture),
    sendDisabled: (fixture.nativeElement as HTMLElement).querySelector<HTMLButtonElement>('button.send')?.disabled,
    signalsMatch: {
      status: chat.status() === 'connected',
      busy: chat.busy() === false,
      messages: chat.messages().length === 2 && chat.messages()[1]?.status === 'done',
    },
  };
}

/** A template that starts subscribing once connected still shows the current status. */
async function lateSubscriber(url: string) {
  configure('zone', [provideLlmWs({ url })]);
  const fixture = create(LateStatusComponent);
  const chat = TestBed.inject(LlmWsChat);
  await until(chat.status$, (status) => status === 'connected');
  await settles(fixture);
  const before = text(fixture, '.late-status');
  fixture.componentInstance.shown.set(true);
  // One pass of change detection: the async pipe must have the value at subscription.
  fixture.detectChanges();
  return { before, after: text(fixture, '.late-status'), count: text(fixture, '.late-count') };
}

/** A component with its own `provideLlmWs`: connected while it lives. */
async function ownChatStart(url: string) {
  configure('zone', [{ provide: SERVER_URL, useValue: url }]);
  const fixture = create(OwnChatComponent);
  const chat = fixture.debugElement.children[0]!.injector.get(LlmWsChat);
  await until(chat.status$, (status) => status === 'connected');
  const stable = await settles(fixture);
  return { stable, shown: text(fixture, '.connection') };
}

/** Destroys that component: its chat disconnects and its streams complete. */
async function ownChatDestroy() {
  const fixture = current as ComponentFixture<OwnChatComponent>;
  const chat = fixture.debugElement.children[0]!.injector.get(LlmWsChat);
  const statuses: string[] = [];
  const ended = lastValueFrom(chat.status$, { defaultValue: 'completed without a value' }).then(() => 'completed');
  chat.status$.subscribe((status) => statuses.push(status));
  fixture.destroy();
  current = undefined;
  return { ended: await ended, statuses };
}

/** On the server platform nothing connects, the streams stay idle and send() fails at once. */
async function serverPlatform(url: string) {
  const before = socketsOpened;
  configure('zone', [provideLlmWs({ url }), { provide: PLATFORM_ID, useValue: 'server' }]);
  const fixture = create(ChatComponent);
  const chat = TestBed.inject(LlmWsChat);
  chat.connect();
  const stable = await settles(fixture);
  const sendError = await lastValueFrom(chat.send('hello')).then(
    () => 'no error',
    (error: { code: string }) => error.code,
  );
  return {
    stable,
    socketsOpened: socketsOpened - before,
    shown: text(fixture, '.connection'),
    messages: renderedMessages(fixture).length,
    hasClient: chat.client !== undefined,
    sendError,
  };
}

/** Stop aborts the streaming reply and keeps the text so far. */
async function abortReply(url: string, question: string, shownBeforeStop: string) {
  configure('zone', [provideLlmWs({ url })]);
  const fixture = create(ChatComponent);
  const chat = TestBed.inject(LlmWsChat);
  typeAndSend(fixture, question);
  await until(chat.messages$, (messages) =>
    messages.some((message) => message.role === 'assistant' && message.text === shownBeforeStop),
  );
  await settles(fixture);
  (fixture.nativeElement as HTMLElement).querySelector<HTMLButtonElement>('button.stop')!.click();
  const stable = await settles(fixture);
  return { stable, messages: renderedMessages(fixture), busy: await firstValueFrom(chat.busy$) };
}

/** clear() empties the conversation here and on the server. */
async function clearConversation(url: string) {
  configure('zone', [provideLlmWs({ url })]);
  const fixture = create(ChatComponent);
  const chat = TestBed.inject(LlmWsChat);
  const reply$ = chat.send('remember this');
  const zone = watchZone({ 'send()': reply$ });
  await lastValueFrom(reply$);
  zone.stop();
  const historyBefore = (await chat.client!.getHistory()).length;
  await chat.clear();
  const stable = await settles(fixture);
  return {
    emittedOutsideZone: [...zone.outside],
    historyBefore,
    historyAfter: (await chat.client!.getHistory()).length,
    messagesShown: renderedMessages(fixture).length,
    stable,
  };
}

/** Branches and conversations through the service alone: regenerate, edit, switch, list, rename, open, delete. */
async function conversations(url: string) {
  configure('zone', [provideLlmWs({ url })]);
  const chat = TestBed.inject(LlmWsChat);
  const connected = () => firstValueFrom(chat.status$.pipe(filter((status) => status === 'connected')));
  const until = (check: (messages: readonly ChatMessage[]) => boolean) =>
    firstValueFrom(chat.messages$.pipe(filter(check)));
  const texts = () => chat.messages().map((message) => message.text);
  await connected();
  await lastValueFrom(chat.send('first question'));
  const idsAfterSend = chat.messages().map((message) => message.messageId !== undefined);
  await lastValueFrom(chat.regenerate());
  const regenerated = await until((messages) => messages[1]?.siblingIds?.length === 2);
  const replyBranch = `${regenerated[1]!.siblingIds!.indexOf(regenerated[1]!.messageId!) + 1}/2`;
  await lastValueFrom(chat.editMessage(chat.messages()[0]!.messageId!, 'changed question'));
  const edited = await until((messages) => messages[0]?.siblingIds?.length === 2);
  const afterEdit = { texts: texts(), userBranch: edited[0]!.siblingIds!.indexOf(edited[0]!.messageId!) + 1 };
  await chat.switchBranch(edited[0]!.siblingIds![0]!);
  const afterSwitch = texts();
  const usage = chat.usage();
  await chat.listConversations();
  const first = chat.conversations()[0]!;
  await chat.renameConversation(first.id, 'Renamed');
  const titlesAfterRename = chat.conversations().map((conversation) => conversation.title);
  // A new conversation: the service's next connection starts one.
  chat.disconnect();
  chat.connect();
  await connected();
  await lastValueFrom(chat.send('second question'));
  await chat.listConversations({ limit: 1 });
  const firstPage = chat.conversations().length;
  const more = chat.moreConversations();
  await chat.listConversations({ more: true, limit: 1 });
  const bothPages = chat.conversations().map((conversation) => conversation.title);
  const second = chat.conversations().find((conversation) => conversation.id !== first.id)!;
  await chat.openConversation(first.id);
  const opened = texts();
  await chat.deleteConversation(second.id);
  return {
    idsAfterSend,
    replyBranch,
    afterEdit,
    afterSwitch,
    usage,
    titlesAfterRename,
    firstPage,
    more,
    bothPages,
    opened,
    titlesAfterDelete: chat.conversations().map((conversation) => conversation.title),
  };
}

/** Ends the current spec: destroys its fixture and the test module's injector (which disconnects a root-level chat). */
function reset(): void {
  current = undefined;
  TestBed.resetTestingModule();
}

const specs: Specs = {
  streamOneReply,
  lateSubscriber,
  ownChatStart,
  ownChatDestroy,
  serverPlatform,
  abortReply,
  clearConversation,
  conversations,
  reset,
};
(globalThis as unknown as { llmWsSpecs: Specs }).llmWsSpecs = specs;
