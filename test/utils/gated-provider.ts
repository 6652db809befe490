import { concatMap, finalize, type Observable } from 'rxjs';
import { openAIProvider } from '../../src/llm/openai-provider';
import type { LLMEvent, LLMProvider } from '../../src/llm/types';
import type { OpenAITestServer } from '../../src/testing/node';

/** A promise with its resolve, for a test to open when it is ready. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * The real openai provider to `upstream`, with gates, so a test decides when the model goes on
 * however loaded the machine: text event `n` (from 0) of the first model call waits for
 * `gates[n]`. `finished` resolves once that model call has ended on the server's side.
 */
export function gatedProvider(
  upstream: OpenAITestServer,
  gates: Record<number, Promise<void>>,
): { provider: LLMProvider; finished: Promise<void> } {
  const real = openAIProvider({ baseURL: upstream.baseURL, apiKey: 'test', model: 'test-model', maxRetries: 0 });
  const finished = gate();
  let calls = 0;
  const provider: LLMProvider = (request): Observable<LLMEvent> => {
    const first = calls++ === 0;
    let texts = 0;
    return real(request).pipe(
      concatMap(async (event) => {
        if (first && event.type === 'text') await gates[texts++];
        return event;
      }),
      finalize(() => first && finished.open()),
    );
  };
  return { provider, finished: finished.promise };
}
