// The registry client against a local HTTP server playing a Confluent-compatible registry: schemas by
// id with their references, each fetched once however many ask, "not found" as the record's fault, and
// a registry that is down, failing or refusing as the run's.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistrySchemaSource } from '../../src/adapters/registry-schema-source.js';
import { AccessDeniedError, ConnectionError, FailureKind, failureKindOf } from '../../src/errors.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;
const servers: ReturnType<typeof createServer>[] = [];

/** A registry at a local port answering with `handler`; `requests` lists the paths asked, in order. */
async function registry(handler: Handler) {
  const requests: string[] = [];
  const authorizations: (string | undefined)[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    authorizations.push(request.headers.authorization);
    handler(request, response);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, authorizations };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

const json = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
  response.end(JSON.stringify(body));
};

describe('RegistrySchemaSource', () => {
  it('gives a schema with its references resolved, fetching each once however many ask at once', async () => {
    const { url, requests } = await registry((request, response) => {
      if (request.url === '/schemas/ids/7')
        json(response, 200, {
          schemaType: 'PROTOBUF',
          schema: 'syntax = "proto3"; import "customer.proto";',
          references: [{ name: 'customer.proto', subject: 'customer', version: 2 }],
        });
      else if (request.url === '/subjects/customer/versions/2')
        json(response, 200, { subject: 'customer', version: 2, id: 5, schema: 'syntax = "proto3";' });
      else json(response, 404, { error_code: 40403, message: 'Schema not found' });
    });
    const source = new RegistrySchemaSource({ url });
    const [first, second] = await Promise.all([source.schemaById(7), source.schemaById(7)]);
    expect(first).toEqual({
      type: 'PROTOBUF',
      text: 'syntax = "proto3"; import "customer.proto";',
      references: [
        {
          name: 'customer.proto',
          subject: 'customer',
          version: 2,
          schema: { type: 'AVRO', text: 'syntax = "proto3";', references: [] },
        },
      ],
    });
    expect(second).toBe(first);
    await source.schemaById(7);
    expect(requests).toEqual(['/schemas/ids/7', '/subjects/customer/versions/2']);
  });

  it('answers undefined for a schema id the registry does not hold, once', async () => {
    const { url, requests } = await registry((_request, response) =>
      json(response, 404, { error_code: 40403, message: 'Schema 9 not found' }),
    );
    const source = new RegistrySchemaSource({ url });
    expect(await source.schemaById(9)).toBeUndefined();
    expect(await source.schemaById(9)).toBeUndefined();
    expect(requests).toEqual(['/schemas/ids/9']);
  });

  it('logs in with basic authentication', async () => {
    const { url, authorizations } = await registry((_request, response) =>
      json(response, 200, { schema: '"string"' }),
    );
    const source = new RegistrySchemaSource({
      url,
      login: { kind: 'basic', username: 'ada', password: 'pw' },
    });
    await source.schemaById(1);
    expect(authorizations).toEqual([`Basic ${Buffer.from('ada:pw').toString('base64')}`]);
  });

  it('fails the run on a registry that refuses the login, with nothing cached', async () => {
    const { url, requests } = await registry((_request, response) =>
      json(response, 401, { error_code: 40101, message: 'Unauthorized' }),
    );
    const source = new RegistrySchemaSource({ url });
    const error = await source.schemaById(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toMatch(
      /schema registry at http:\/\/127\.0\.0\.1:\d+ refused schema id 1 \(HTTP 401\)/,
    );
    await source.schemaById(1).catch(() => {});
    expect(requests).toHaveLength(2);
  });

  it('retries a 5xx, then fails the run with a transient ConnectionError', async () => {
    const { url, requests } = await registry((_request, response) =>
      json(response, 503, { message: 'down' }),
    );
    const error = await new RegistrySchemaSource({ url }).schemaById(3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(failureKindOf(error)).toBe(FailureKind.TRANSIENT);
    expect((error as Error).message).toMatch(/could not answer for schema id 3: HTTP 503/);
    expect(requests).toHaveLength(3);
  });

  it("fails the run on a URL that answers 404 without the registry's code: no registry API there", async () => {
    const { url } = await registry((_request, response) => {
      response.writeHead(404);
      response.end('Not Found');
    });
    const error = await new RegistrySchemaSource({ url }).schemaById(3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
  });

  it('fails the run with a ConnectionError when nothing listens', async () => {
    const { url } = await registry(() => {});
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    const error = await new RegistrySchemaSource({ url }).schemaById(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/could not answer for schema id 1/);
  });
});
