// The schema registry settings: what a confluent key or value format requires, the logins, and the
// CLI's user with its password from the environment. Pure.
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/cli/parse-args.js';
import { configFromFlags } from '../../src/cli/pipeline-flags.js';
import { runCommandSpec } from '../../src/cli/run-command.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { loadConfig } from '../../src/config.js';
import { BASE_VARIABLES, configProblems } from './config-problems.js';

const base = BASE_VARIABLES;
const confluent = { ...base, VALUE_FORMAT: 'confluent', SCHEMA_REGISTRY_URL: 'https://registry.example/' };

describe('schema registry settings', () => {
  it('has no registry unless a format is confluent', () => {
    expect(loadConfig(base).registry).toBeUndefined();
  });

  it('takes the URL without its trailing slash, and logs in with nothing or a secret', () => {
    expect(loadConfig(confluent).registry).toEqual({
      url: 'https://registry.example',
      login: { kind: 'none' },
    });
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:registry-AbCdEf';
    expect(loadConfig({ ...confluent, SCHEMA_REGISTRY_SECRET_ARN: arn }).registry).toEqual({
      url: 'https://registry.example',
      login: { kind: 'secret', secretArn: arn },
    });
  });

  it('takes confluent keys too, and declared columns from confluent values', () => {
    const { VALUE_FORMAT: _value, ...keys } = confluent;
    expect(loadConfig({ ...keys, KEY_FORMAT: 'confluent' }).keyFormat).toBe('confluent');
    expect(
      loadConfig({ ...confluent, OUTPUT_FORMAT: 'parquet', VALUE_COLUMNS: 'id:bigint:id' }).columns,
    ).toEqual([{ name: 'id', type: 'bigint', path: 'id' }]);
  });

  it.each([
    [
      { ...base, VALUE_FORMAT: 'confluent' },
      ['SCHEMA_REGISTRY_URL is required when VALUE_FORMAT is confluent'],
    ],
    [
      { ...base, VALUE_FORMAT: 'confluent', KEY_FORMAT: 'confluent' },
      ['SCHEMA_REGISTRY_URL is required when KEY_FORMAT and VALUE_FORMAT are confluent'],
    ],
    [
      { ...confluent, SCHEMA_REGISTRY_URL: 'registry:8081' },
      ["SCHEMA_REGISTRY_URL must be an http:// or https:// URL, got 'registry:8081'"],
    ],
    [
      { ...base, SCHEMA_REGISTRY_SECRET_ARN: 'arn:x' },
      ['SCHEMA_REGISTRY_SECRET_ARN needs SCHEMA_REGISTRY_URL'],
    ],
  ])('refuses %j before touching anything', (env, problems) => {
    expect(configProblems(env)).toEqual(problems);
  });
});

describe('an unused registry URL', () => {
  it('is ignored, as the Iceberg settings are without a table: no format decodes with it', () => {
    expect(configProblems({ ...base, SCHEMA_REGISTRY_URL: 'http://registry:8081' })).toEqual([]);
  });
});

describe('the CLI registry login', () => {
  const parse = (...argv: string[]) =>
    parseFlags(runCommandSpec, [
      '--topic',
      'orders',
      '--group-id',
      'g',
      '--value-format',
      'confluent',
      '--schema-registry-url',
      'http://127.0.0.1:8081',
      ...argv,
    ]);
  const env = { KAFKA_BROKERS: 'b:9092', SCHEMA_REGISTRY_PASSWORD: 's3cret' };

  it('logs in as --schema-registry-user with the password from SCHEMA_REGISTRY_PASSWORD', () => {
    expect(configFromFlags(parse('--schema-registry-user', 'ada'), 'run', env).registry).toEqual({
      url: 'http://127.0.0.1:8081',
      login: { kind: 'basic', username: 'ada', password: 's3cret' },
    });
  });

  it('refuses a user without a password, beside a secret, or without a registry, and never shows the password', () => {
    const problem = (argv: string[], environment: Record<string, string>) => {
      try {
        configFromFlags(
          parseFlags(runCommandSpec, ['--topic', 't', '--group-id', 'g', ...argv]),
          'run',
          environment,
        );
      } catch (error) {
        if (error instanceof UsageError) return error.message;
        throw error;
      }
      return 'accepted';
    };
    const registry = ['--value-format', 'confluent', '--schema-registry-url', 'http://r:8081'];
    expect(problem([...registry, '--schema-registry-user', 'ada'], { KAFKA_BROKERS: 'b:9092' })).toMatch(
      /--schema-registry-user needs the password in the SCHEMA_REGISTRY_PASSWORD environment variable/,
    );
    const both = [...registry, '--schema-registry-user', 'ada', '--schema-registry-secret-arn', 'arn:x'];
    expect(problem(both, env)).toMatch(
      /--schema-registry-user and --schema-registry-secret-arn are two logins/,
    );
    expect(problem(['--schema-registry-user', 'ada'], env)).toMatch(
      /--schema-registry-user needs --schema-registry-url/,
    );
    expect(problem(both, env)).not.toContain('s3cret');
  });
});
