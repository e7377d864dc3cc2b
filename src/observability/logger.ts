import { pino, type Logger } from 'pino';

/** Paths whose values never reach a log line: credentials in headers and bodies. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  '*.password',
  '*.accessToken',
  '*.refreshToken',
  '*.token',
  '*.apiKey',
  '*.key',
  '*.inviteCode',
];

/** The JSON logger (pino) at `level`, with secrets redacted. */
export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: redactPaths, censor: '[redacted]' } });
}
