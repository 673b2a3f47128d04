// Compiled JSON Schemas: the column type each gives its values, and payloads read as the JSON text they
// are, whichever version of the schema wrote them.
import { describe, expect, it } from 'vitest';
import { compileAvro } from '../../src/core/avro-reader.js';
import { compileJsonSchema } from '../../src/core/json-schema-reader.js';
import type { CompiledSchema, PayloadReader } from '../../src/core/registry-json.js';
import type { FormatMismatch, JsonDocument } from '../../src/core/value-format.js';
import { shapeText } from '../../src/core/value-shape.js';
import type { RegisteredSchema } from '../../src/ports.js';

const jsonSchema = (schema: unknown): RegisteredSchema => ({
  type: 'JSON',
  text: JSON.stringify(schema),
  references: [],
});

function compiled(schema: unknown, id = 1): CompiledSchema {
  const result = compileJsonSchema(jsonSchema(schema), id);
  if (typeof result === 'string') throw new Error(result);
  return result;
}

/** One property's shape, as text. */
const propertyShape = (property: unknown, extra: object = {}): string =>
  shapeText(compiled({ type: 'object', properties: { p: property }, ...extra }).shape).replace(
    /^struct<p:(.*)>$/,
    '$1',
  );

describe('the column type of a JSON Schema', () => {
  it.each([
    [{ type: 'string' }, 'string'],
    [{ type: 'string', format: 'date-time' }, 'timestamp(micros)'],
    [{ type: 'string', format: 'date' }, 'date'],
    [{ type: 'string', format: 'email' }, 'string'],
    [{ type: 'string', enum: ['a', 'b'] }, 'string'],
    [{ type: 'integer' }, 'long'],
    [{ type: 'number' }, 'double'],
    [{ type: 'boolean' }, 'boolean'],
    [{ type: ['integer', 'null'] }, 'long'],
    [{ type: ['null', 'string'], format: 'date' }, 'date'],
    [{ type: 'array', items: { type: 'number' } }, 'list<double>'],
    [{ type: 'array', items: [{ type: 'number' }, { type: 'string' }] }, 'json'],
    [{ type: 'array' }, 'json'],
    [{ type: 'object', additionalProperties: { type: 'integer' } }, 'map<string,long>'],
    [{ type: 'object', additionalProperties: true }, 'json'],
    [{ type: 'object' }, 'json'],
    [{ type: 'object', properties: { a: { type: 'integer' } }, allOf: [{}] }, 'json'],
    [{ type: 'null' }, 'json'],
    [{ type: ['string', 'integer'] }, 'json'],
    [{ oneOf: [{ type: 'string' }, { type: 'integer' }] }, 'json'],
    [{ anyOf: [{ type: 'string' }] }, 'json'],
    [{ const: 3 }, 'json'],
    [{}, 'json'],
    [true, 'json'],
    [{ type: 'string', anyOf: [{ format: 'email' }, { format: 'uri' }] }, 'string'],
  ])('gives %j the column type %s', (property, expected) => {
    expect(propertyShape(property)).toBe(expected);
  });

  it('gives an object a struct of its properties in the order the schema lists them, with descriptions', () => {
    const { shape } = compiled({
      type: 'object',
      properties: {
        z: { type: 'integer', description: 'Last letter, first field.' },
        a: { type: 'object', properties: { b: { type: 'boolean' } } },
      },
    });
    expect(shapeText(shape)).toBe('struct<z:long,a:struct<b:boolean>>');
    const fields = shape.kind === 'struct' ? shape.fields : [];
    expect(fields[0]).toEqual({ name: 'z', shape: { kind: 'long' }, doc: 'Last letter, first field.' });
    expect(fields[1]).not.toHaveProperty('doc');
  });

  it('follows local references, and gives one inside itself the json type where it recurs', () => {
    const definitions = {
      Money: { type: 'string' },
      Node: {
        type: 'object',
        properties: { value: { type: 'integer' }, next: { $ref: '#/$defs/Node' } },
      },
    };
    const { shape } = compiled({
      type: 'object',
      properties: {
        price: { $ref: '#/definitions/Money' },
        head: { $ref: '#/$defs/Node' },
        self: { $ref: '#' },
        elsewhere: { $ref: 'other.json#/definitions/Money' },
        missing: { $ref: '#/definitions/Nope' },
      },
      definitions,
      $defs: definitions,
    });
    expect(shapeText(shape)).toBe(
      'struct<price:string,head:struct<value:long,next:json>,self:json,elsewhere:json,missing:json>',
    );
  });

  it('says why a schema that is not JSON cannot be compiled', () => {
    expect(compileJsonSchema({ type: 'JSON', text: '{"type":', references: [] }, 6)).toMatch(
      /^JSON Schema id 6 cannot be read: /,
    );
    expect(compileJsonSchema({ type: 'JSON', text: '"object"', references: [] }, 6)).toBe(
      'JSON Schema id 6 cannot be read: it is neither an object nor a boolean',
    );
  });
});

describe('reading JSON Schema payloads', () => {
  it("leaves out, read as a later version, the properties that version's objects no longer declare, at any depth", () => {
    const older = compiled(
      {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          note: { type: 'string' },
          lines: {
            type: 'array',
            items: { type: 'object', properties: { sku: { type: 'string' }, old: {} } },
          },
          stock: {
            type: 'object',
            additionalProperties: { type: 'object', properties: { n: {}, gone: {} } },
          },
        },
      },
      8,
    );
    const newer = compiled(
      {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          lines: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' } } } },
          stock: { type: 'object', additionalProperties: { type: 'object', properties: { n: {} } } },
        },
      },
      9,
    );
    const payload = '{"id":1,"note":"x","lines":[{"sku":"a","old":1}],"stock":{"k":{"n":2,"gone":3}}}';
    const document = (newer.readAs(older) as PayloadReader)(Buffer.from(payload), 'value') as JsonDocument;
    expect(document.parsed).toEqual({ id: 1, lines: [{ sku: 'a' }], stock: { k: { n: 2 } } });
    // Its own version's payload is read whole: a property it does not declare is the columns' to refuse.
    expect((newer.read(Buffer.from(payload), 'value') as JsonDocument).parsed).toMatchObject({ note: 'x' });
  });

  const v1 = compiled({ type: 'object', properties: { id: { type: 'integer' } } }, 1);
  const v2 = compiled(
    { type: 'object', properties: { id: { type: 'integer' }, tag: { type: 'string' } } },
    2,
  );

  it('reads the JSON text as it is, and says why bytes that are not JSON cannot be read', () => {
    expect(v1.read(Buffer.from('{"id":\n7}'), 'value')).toEqual({ text: '{"id": 7}', parsed: { id: 7 } });
    expect((v1.read(Buffer.from('{"id":'), 'value') as FormatMismatch).reason).toMatch(
      /^the value is not valid JSON: .* \(JSON Schema id 1\)$/,
    );
  });

  it("reads another version's payload as its own, and refuses a schema of another kind", () => {
    const reader = v2.readAs(v1) as PayloadReader;
    const document = reader(Buffer.from('{"id":7}'), 'value') as JsonDocument;
    expect([document.text, document.parsed]).toEqual(['{"id":7}', { id: 7 }]);
    const avro = compileAvro({ type: 'AVRO', text: '"string"', references: [] }, 3) as CompiledSchema;
    expect(v2.readAs(avro)).toBe(
      'JSON Schema id 2 cannot read values written with Avro schema id 3: it is not a JSON Schema',
    );
  });
});
