import { TokenParser, TokenType, Tokenizer, type JsonTypes } from '@streamparser/json';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ApiError, schemaProblem, type SchemaError } from './errors';
import type { JsonSchema } from './schemas';

/**
 * A JSON body parsed as it arrives, for the database pushes: a million credentials are
 * ~180 MB of JSON, and holding that text (then JSON.parse's copy) is what let one request
 * end the process. The tables' rows are assembled one at a time and each is checked against
 * its JSON schema the moment it is complete, so a bad body is refused at its first bad row
 * and no single value, run of whitespace or table can grow past its limit.
 *
 * The schema drives the walk: a closed object (the body, `upsert`, `delete`) is walked key by
 * key, an array of rows row by row; anything else (a row, `baseVersion`) is one value.
 */

export interface StreamLimits {
  /** The whole body. */
  maxBytes: number;
  /** Bytes without a token: one string, number or run of whitespace. */
  maxTokenBytes: number;
  /** One row, from its first byte to its last. */
  maxRowBytes: number;
  /** Rows per array, by the array's property name ("credentials"). */
  maxRows(table: string): number;
}

/** 1,000,000 credentials and users with room to spare; the smaller tables get 64 Ki rows. */
export const MAX_PEOPLE_ROWS = 1_100_000;
export const MAX_OTHER_ROWS = 65_536;

export const DEFAULT_STREAM_LIMITS: Omit<StreamLimits, 'maxBytes'> = {
  // The longest string a schema allows is 1 KiB (a public key).
  maxTokenBytes: 64 * 1024,
  // A credential naming 256 access points of 128 characters is ~33 KiB.
  maxRowBytes: 1024 * 1024,
  maxRows: (table) =>
    table === 'users' || table === 'credentials' ? MAX_PEOPLE_ROWS : MAX_OTHER_ROWS,
};

/** The validator fastify would build: same options, same formats. */
const ajv = new Ajv({
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: false,
  allErrors: false,
  strict: false,
});
addFormats(ajv);
const compiled = new WeakMap<JsonSchema, ValidateFunction>();
function validator(schema: JsonSchema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) compiled.set(schema, (v = ajv.compile(schema)));
  return v;
}

type Json = JsonTypes.JsonPrimitive | JsonTypes.JsonStruct;

interface ObjectFrame {
  kind: 'object';
  schema: JsonSchema;
  pointer: string;
  value: Record<string, unknown>;
  state: 'key-or-end' | 'key' | 'colon' | 'value' | 'comma-or-end';
  key?: string;
}

interface ArrayFrame {
  kind: 'array';
  schema: JsonSchema;
  pointer: string;
  name: string;
  value: unknown[];
  /** Rows so far (kept in `value`, or handed to the sink). */
  count: number;
  /** A table of the body handed to the row sink row by row, not kept. */
  streamed: boolean;
  state: 'value-or-end' | 'value' | 'comma-or-end';
}

/** One value assembled whole by the library's token parser, then checked by its schema. */
interface ValueFrame {
  kind: 'value';
  schema: JsonSchema;
  pointer: string;
  parser: TokenParser;
  startOffset: number;
  previous?: { token: TokenType; value: unknown };
  done?: { value: Json };
}

type Frame = ObjectFrame | ArrayFrame | ValueFrame;

const properties = (schema: JsonSchema) => (schema.properties ?? {}) as Record<string, JsonSchema>;
const isClosedObject = (schema: JsonSchema) =>
  schema.type === 'object' && schema.additionalProperties === false && 'properties' in schema;
const isArray = (schema: JsonSchema) => schema.type === 'array' && 'items' in schema;

function bad(field: string, message: string): ApiError {
  return new ApiError('bad_request', `body ${field} ${message}`, field, { part: 'body' });
}
function syntax(message: string): ApiError {
  return new ApiError('bad_request', `body: ${message}`, '/', { part: 'body' });
}

/**
 * Takes the rows of the body's top-level tables as they are read, so a route can keep them
 * in a compact form of its own instead of as objects. `row` gets each row once it passed its
 * schema; `end` gets the body (those tables as empty arrays) and answers the route's body.
 */
export interface RowSink {
  row(table: string, index: number, row: unknown): void;
  end(body: Record<string, unknown>): unknown;
}

/** Feed it the body's bytes in order, then `end()` for the value, or an ApiError at the first fault. */
export class StreamingBody {
  private readonly tokenizer = new Tokenizer();
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  private readonly stack: Frame[] = [];
  private result?: { value: unknown };
  private bytes = 0;
  private lastToken = 0;
  private failure?: ApiError;

  constructor(
    private readonly schema: JsonSchema,
    private readonly limits: StreamLimits,
    private readonly sink?: RowSink,
  ) {
    this.tokenizer.onToken = ({ token, value, offset }) => this.token(token, value, offset);
    // Errors thrown by our own token handler come back through here: keep them as they are.
    this.tokenizer.onError = (err) => {
      throw err instanceof ApiError ? err : syntax(err.message);
    };
  }

  write(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    try {
      // Slices, so the limits are checked every few KiB whatever the socket hands over.
      for (let at = 0; at < chunk.length; at += 16 * 1024) {
        const slice = chunk.subarray(at, at + 16 * 1024);
        this.bytes += slice.length;
        if (this.bytes > this.limits.maxBytes) {
          throw new ApiError(
            'body_too_large',
            `the body is larger than its limit of ${this.limits.maxBytes} bytes`,
          );
        }
        this.checkUtf8(slice, true);
        this.tokenizer.write(slice);
        if (this.bytes - this.lastToken > this.limits.maxTokenBytes) {
          throw bad(
            this.where(),
            `holds a value or whitespace longer than ${this.limits.maxTokenBytes} bytes`,
          );
        }
      }
    } catch (err) {
      throw this.fail(err);
    }
  }

  end(): unknown {
    if (this.failure) throw this.failure;
    try {
      this.checkUtf8(new Uint8Array(0), false);
      if (this.bytes === 0) throw syntax('is empty; send the JSON document');
      if (!this.tokenizer.isEnded) this.tokenizer.end();
      if (!this.result) throw syntax('ends before the JSON document does');
      if (this.sink) return this.sink.end(this.result.value as Record<string, unknown>);
      return this.result.value;
    } catch (err) {
      throw this.fail(err);
    }
  }

  private fail(err: unknown): ApiError {
    this.failure = err instanceof ApiError ? err : syntax((err as Error).message);
    return this.failure;
  }

  private checkUtf8(bytes: Uint8Array, more: boolean): void {
    try {
      this.utf8.decode(bytes, { stream: more });
    } catch {
      throw syntax('is not valid UTF-8');
    }
  }

  /** The pointer of what is being read, for limit errors. */
  private where(): string {
    const top = this.stack.at(-1);
    if (!top) return '/';
    if (top.kind === 'array') return `${top.pointer}/${top.count}`;
    if (top.kind === 'object' && top.key !== undefined) return `${top.pointer}/${top.key}`;
    return top.pointer || '/';
  }

  private token(token: TokenType, value: unknown, offset: number): void {
    this.lastToken = offset;
    if (this.result) throw syntax(`has data after the JSON document (byte ${offset})`);
    const top = this.stack.at(-1);
    if (!top) return this.open(this.schema, '', token, value, offset);
    if (top.kind === 'value') return this.feed(top, token, value, offset);
    if (top.kind === 'object') return this.inObject(top, token, value, offset);
    return this.inArray(top, token, value, offset);
  }

  /**
   * Starts the value at `pointer`: walked when its schema and first token allow (the body,
   * `upsert`, `delete`, their tables), else (and always for a row) read whole.
   */
  private open(
    schema: JsonSchema,
    pointer: string,
    token: TokenType,
    value: unknown,
    offset: number,
    name = '',
    whole = false,
  ): void {
    if (token === TokenType.LEFT_BRACE && isClosedObject(schema) && !whole) {
      this.stack.push({ kind: 'object', schema, pointer, value: {}, state: 'key-or-end' });
      return;
    }
    if (token === TokenType.LEFT_BRACKET && isArray(schema) && !whole) {
      // Only the body's own tables go to the sink: a row is always a whole value.
      const streamed = this.sink !== undefined && this.stack.length === 1;
      this.stack.push({
        kind: 'array',
        schema,
        pointer,
        name,
        value: [],
        count: 0,
        streamed,
        state: 'value-or-end',
      });
      return;
    }
    const parser = new TokenParser({ paths: ['$'] });
    const frame: ValueFrame = { kind: 'value', schema, pointer, parser, startOffset: offset };
    parser.onValue = ({ value: v }) => (frame.done = { value: v as Json });
    parser.onError = (err) => {
      throw err instanceof ApiError ? err : syntax(err.message);
    };
    this.stack.push(frame);
    this.feed(frame, token, value, offset);
  }

  private feed(frame: ValueFrame, token: TokenType, value: unknown, offset: number): void {
    if (offset - frame.startOffset > this.limits.maxRowBytes) {
      throw bad(frame.pointer || '/', `is larger than ${this.limits.maxRowBytes} bytes`);
    }
    // A "__proto__" member would become the row's prototype, not one of its fields.
    const previous = frame.previous;
    if (token === TokenType.COLON && previous?.token === TokenType.STRING) {
      if (previous.value === '__proto__') {
        throw bad(frame.pointer || '/', 'has a "__proto__" key, which is not allowed');
      }
    }
    frame.previous = { token, value };
    frame.parser.write({ token, value: value as JsonTypes.JsonPrimitive });
    if (!frame.done) return;
    this.stack.pop();
    const check = validator(frame.schema);
    if (!check(frame.done.value)) {
      const errors = (check.errors ?? []) as SchemaError[];
      throw schemaProblem(
        errors.map((e) => ({ ...e, instancePath: frame.pointer + e.instancePath })),
        'body',
      );
    }
    this.close(frame.done.value);
  }

  private inObject(frame: ObjectFrame, token: TokenType, value: unknown, offset: number): void {
    switch (frame.state) {
      case 'key-or-end':
      case 'key':
        if (token === TokenType.RIGHT_BRACE && frame.state === 'key-or-end') {
          this.stack.pop();
          return this.closeObject(frame);
        }
        if (token !== TokenType.STRING) throw syntax(`expected a field name at byte ${offset}`);
        frame.key = value as string;
        frame.state = 'colon';
        return;
      case 'colon':
        if (token !== TokenType.COLON) throw syntax(`expected ':' at byte ${offset}`);
        frame.state = 'value';
        return;
      case 'value': {
        const key = frame.key!;
        const field = `${frame.pointer}/${key}`;
        const schema = properties(frame.schema)[key];
        if (!schema || !Object.hasOwn(properties(frame.schema), key)) {
          throw bad(field, 'is not a known field');
        }
        if (Object.hasOwn(frame.value, key)) throw bad(field, 'appears twice');
        frame.state = 'comma-or-end';
        return this.open(schema, field, token, value, offset, key);
      }
      case 'comma-or-end':
        if (token === TokenType.COMMA) frame.state = 'key';
        else if (token === TokenType.RIGHT_BRACE) {
          this.stack.pop();
          this.closeObject(frame);
        } else throw syntax(`expected ',' or '}' at byte ${offset}`);
        return;
    }
  }

  private closeObject(frame: ObjectFrame): void {
    for (const required of (frame.schema.required ?? []) as string[]) {
      if (!Object.hasOwn(frame.value, required)) {
        throw schemaProblem(
          [
            {
              instancePath: frame.pointer,
              keyword: 'required',
              params: { missingProperty: required },
            },
          ],
          'body',
        );
      }
    }
    this.close(frame.value);
  }

  private inArray(frame: ArrayFrame, token: TokenType, value: unknown, offset: number): void {
    if (frame.state === 'comma-or-end') {
      if (token === TokenType.COMMA) frame.state = 'value';
      else if (token === TokenType.RIGHT_BRACKET) {
        this.stack.pop();
        this.close(frame.value);
      } else throw syntax(`expected ',' or ']' at byte ${offset}`);
      return;
    }
    if (token === TokenType.RIGHT_BRACKET && frame.state === 'value-or-end') {
      this.stack.pop();
      return this.close(frame.value);
    }
    const index = frame.count;
    const max = this.limits.maxRows(frame.name);
    if (index >= max) throw bad(frame.pointer, `has more than ${max} rows`);
    frame.state = 'comma-or-end';
    // A row is read whole and checked against its schema as one value.
    const items = frame.schema.items as JsonSchema;
    this.open(items, `${frame.pointer}/${index}`, token, value, offset, '', true);
  }

  /** A finished value goes into its parent, or is the body. */
  private close(value: unknown): void {
    const parent = this.stack.at(-1);
    if (!parent) {
      this.result = { value };
      return;
    }
    if (parent.kind === 'array') {
      if (parent.streamed) this.sink!.row(parent.name, parent.count, value);
      else parent.value.push(value);
      parent.count++;
    } else if (parent.kind === 'object') parent.value[parent.key!] = value;
  }
}
