import { Observable } from 'rxjs';
import type { WebSocketConstructor } from './options';

/** What a socket tells beside its frames. */
export interface SocketEvents {
  /** The socket opened: frames may be written on it now. */
  open(socket: WebSocket): void;
  /** The socket closed (told also after the subscriber left, as a close the client asked for comes then). */
  close(event: CloseEvent): void;
}

/**
 * A WebSocket's text frames, as rxjs's `webSocket` subject gives them (the same events, in the
 * same order): subscribing opens the socket, a clean close completes, an error event or an
 * unclean close errors (with the event), unsubscribing closes the socket. Frames are written on
 * the socket `open` hands out. Rather than the subject, whose subject-and-replay machinery is a
 * tenth of a minimal app's bundle (see docs/ARCHITECTURE.md, "The client").
 */
export function webSocketFrames(
  WebSocketCtor: WebSocketConstructor,
  url: string,
  protocols: string | string[] | undefined,
  on: SocketEvents,
): Observable<string> {
  return new Observable<string>((subscriber) => {
    let socket: WebSocket;
    try {
      socket = protocols ? new WebSocketCtor(url, protocols) : new WebSocketCtor(url);
    } catch (error) {
      subscriber.error(error);
      return;
    }
    // After an error event the socket is the browser's to close (with 1006), as the subject leaves it.
    let failed = false;
    socket.onopen = () => on.open(socket);
    socket.onerror = (event) => {
      failed = true;
      subscriber.error(event);
    };
    socket.onclose = (event) => {
      on.close(event);
      if (event.wasClean) subscriber.complete();
      else subscriber.error(event);
    };
    // Raw text: decoding happens after this, where a bad frame cannot end the stream.
    socket.onmessage = (event) => subscriber.next(event.data as string);
    return () => {
      if (!failed && socket.readyState <= 1) socket.close();
    };
  });
}
