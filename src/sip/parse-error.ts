/** The one error type for malformed SIP input. It is returned, never thrown past the parser. */
import type { SipMessage } from './message.ts';

export type SipParseErrorReason =
  | 'bad-start-line'
  | 'unsupported-version'
  | 'bad-header-line'
  | 'too-many-headers'
  | 'message-too-large'
  | 'missing-header'
  | 'bad-header-value'
  | 'bad-content-length'
  | 'cseq-method-mismatch'
  | 'incomplete';

export class SipParseError extends Error {
  readonly reason: SipParseErrorReason;
  /** Short human text naming the problem, fit for a 400 reason phrase (e.g. `Missing Call-ID`). */
  readonly phrase: string;
  /**
   * What could be parsed (start line and headers) when the message got that far; present means
   * the sender can be answered with a 4xx, absent means the input is dropped.
   */
  readonly partial: SipMessage | undefined;

  constructor(reason: SipParseErrorReason, phrase: string, partial?: SipMessage) {
    super(`malformed SIP message: ${phrase}`);
    this.name = 'SipParseError';
    this.reason = reason;
    this.phrase = phrase;
    this.partial = partial;
  }
}
