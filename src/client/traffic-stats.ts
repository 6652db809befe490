import { utf8Length } from '../util/utf8-length';
import type { ClientStats } from './options';

/** The counters behind `getStats()`. */
export class TrafficStats {
  reconnects = 0;
  connectedSince: Date | null = null;
  lastRoundTripMs: number | null = null;
  private messagesSent = 0;
  private messagesReceived = 0;
  private bytesSent = 0;
  private bytesReceived = 0;

  sent(text: string): void {
    this.messagesSent++;
    this.bytesSent += utf8Length(text);
  }

  received(text: string): void {
    this.messagesReceived++;
    this.bytesReceived += utf8Length(text);
  }

  snapshot(): ClientStats {
    return {
      messagesSent: this.messagesSent,
      messagesReceived: this.messagesReceived,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      reconnects: this.reconnects,
      connectedSince: this.connectedSince,
      lastRoundTripMs: this.lastRoundTripMs,
    };
  }
}
