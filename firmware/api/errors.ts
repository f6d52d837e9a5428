import { BoardDownError, NotInEnrollModeError, NotSupportedError } from '../board';
import { ConfigError } from '../config';
import { ReaderError } from '../foundation/errors';
import { StoreFullError, VersionConflictError } from '../../storage/errors';
import { PowerLossError } from '../../storage/flash-device';

/**
 * Every error the host API answers with has one JSON shape:
 *   { error: CODE, message, field? }
 * `field` is a JSON pointer into the body or query ("/credentials/3/userId") so a client
 * can show exactly what to fix. The codes are stable API (docs/API.md lists them).
 */
export const API_ERRORS = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  version_conflict: 409,
  not_in_enroll_mode: 409,
  body_too_large: 413,
  unsupported_media_type: 415,
  header_too_large: 431,
  internal: 500,
  store_full: 507,
  booting: 503,
  host_link_down: 503,
  power_lost: 503,
  not_supported: 501,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export interface ApiErrorBody {
  error: ApiErrorCode;
  message: string;
  field?: string;
  [extra: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly field?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = API_ERRORS[code];
  }

  body(): ApiErrorBody {
    return {
      error: this.code,
      message: this.message,
      ...(this.field !== undefined ? { field: this.field } : {}),
      ...this.extra,
    };
  }
}

/** A domain error type and the answer it gets over HTTP. */
interface DomainAnswer<E extends ReaderError> {
  type: abstract new (...args: never[]) => E;
  answer(error: E): ApiError;
}

function answer<E extends ReaderError>(
  type: DomainAnswer<E>['type'],
  to: (error: E) => ApiError,
): DomainAnswer<ReaderError> {
  return { type, answer: to as (error: ReaderError) => ApiError };
}

/**
 * How the reader's own errors answer, by type; the first match wins, so a subclass goes
 * before its base. A domain error not listed here is a bug and answers 500 internal.
 */
const DOMAIN_ANSWERS: readonly DomainAnswer<ReaderError>[] = [
  answer(
    BoardDownError,
    () => new ApiError('booting', 'the reader is booting (power cycle); retry shortly'),
  ),
  answer(NotSupportedError, (e) => new ApiError('not_supported', e.message)),
  answer(NotInEnrollModeError, (e) => new ApiError('not_in_enroll_mode', e.message)),
  // The firmware's own config validation (ranges the schema already mirrors).
  answer(
    ConfigError,
    (e) => new ApiError('bad_request', e.message, `/${e.field}`, { part: 'body' }),
  ),
  answer(
    VersionConflictError,
    (e) =>
      new ApiError('version_conflict', e.message, '/baseVersion', { currentVersion: e.actual }),
  ),
  answer(
    StoreFullError,
    (e) => new ApiError('store_full', `the flash has no room for this: ${e.message}`),
  ),
  answer(
    PowerLossError,
    (e) => new ApiError('power_lost', `power was cut during the write: ${e.message}`),
  ),
];

/** The API's answer to one of the reader's own errors; undefined for anything else. */
export function domainProblem(error: unknown): ApiError | undefined {
  if (!(error instanceof ReaderError)) return undefined;
  const known = DOMAIN_ANSWERS.find(({ type }) => error instanceof type);
  return known?.answer(error);
}

/** One ajv error, as fastify hands them over (only the parts we read). */
export interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Turns the first schema error into a 400 that names the field. */
export function schemaProblem(errors: SchemaError[], part: string): ApiError {
  const e = errors[0];
  if (!e) return new ApiError('bad_request', `${part} is invalid`);
  let field = e.instancePath || '';
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'required') {
    field += `/${String(e.params.missingProperty)}`;
    message = 'is required';
  } else if (e.keyword === 'additionalProperties') {
    field += `/${String(e.params.additionalProperty)}`;
    message = 'is not a known field';
  } else if (e.keyword === 'enum') {
    message = `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
  }
  const where = field === '' ? part : `${part} ${field}`;
  return new ApiError('bad_request', `${where} ${message}`, field === '' ? '/' : field, {
    part,
  });
}
