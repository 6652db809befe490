/**
 * The application's providers: llm-ws with the server's URL. Here the URL comes from the page's
 * `?server=` parameter (the tests point the app at their own server), else the page's own host.
 */
import { DOCUMENT } from '@angular/common';
import { type ApplicationConfig, inject } from '@angular/core';
import { provideLlmWs } from 'llm-ws/angular';

/** `?server=ws://...` if the page has one, else `/ws` on the page's own host. */
export function serverUrl(location: Location): string {
  const fromQuery = new URLSearchParams(location.search).get('server');
  if (fromQuery) return fromQuery;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

export const appConfig: ApplicationConfig = {
  providers: [provideLlmWs(() => ({ url: serverUrl(inject(DOCUMENT).location) }))],
};
