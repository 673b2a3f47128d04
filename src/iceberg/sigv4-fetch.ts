// Requests to an AWS-hosted Iceberg REST catalog, signed with SigV4 by the AWS SDK's own signer and
// credentials (the default provider chain: environment, the Lambda's role, a profile).
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { CatalogSigning } from '../core/setting-rules.js';

/** The part of `fetch` a catalog client uses. */
export type CatalogFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<Response>;

/** An AWS service that serves the Iceberg REST protocol, by its SigV4 signing name. */
export type AwsCatalogService = Exclude<CatalogSigning, 'none'>;

type SourceData = string | ArrayBuffer | ArrayBufferView;

const bytesOf = (data: SourceData): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data)
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** SHA-256 (or HMAC-SHA-256 with a secret) from node:crypto, in the shape the SigV4 signer takes. */
class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(this.secret));
  }

  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }
}

/** A fetch that signs each request with SigV4 for `service` in `region`. */
export function sigV4Fetch(service: AwsCatalogService, region: string): CatalogFetch {
  const signer = new SignatureV4({ service, region, credentials: defaultProvider(), sha256: NodeSha256 });
  return async (url, init) => {
    const target = new URL(url);
    const query: Record<string, string> = {};
    target.searchParams.forEach((value, key) => {
      query[key] = value;
    });
    const signed = await signer.sign({
      method: init.method,
      protocol: target.protocol,
      hostname: target.hostname,
      ...(target.port ? { port: Number(target.port) } : {}),
      // Encoded once here; the signer encodes it again, as SigV4 wants for every service but S3.
      path: target.pathname,
      query,
      headers: { ...init.headers, host: target.host },
      body: init.body,
    });
    // fetch sets Host itself, to the same value.
    const { host: _host, ...headers } = signed.headers;
    return fetch(url, { ...init, headers });
  };
}
