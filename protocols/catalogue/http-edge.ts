/**
 * HTTP edge — the refusals every HTTP server of ours answers itself, before or around its handler
 * (actors/edge/http.ts), with their HTTP status. Each server writes them in its own error body.
 */
export const httpEdgeErrors = {
  BadTarget: 400,
  BadEncoding: 400,
  BadRequest: 400,
  NotFound: 404,
  MethodNotAllowed: 405,
  RequestTimeout: 408,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  ExpectationFailed: 417,
  /** A plain request to a WebSocket-only server (OCPP-J). */
  UpgradeRequired: 426,
  HeadersTooLarge: 431,
  Internal: 500,
} as const;

export type HttpEdgeErrorCode = keyof typeof httpEdgeErrors;
export const httpEdgeErrorCodes = Object.keys(httpEdgeErrors) as HttpEdgeErrorCode[];
