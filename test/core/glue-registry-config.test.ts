// The Glue Schema Registry settings: a glue key or value format needs no address, the registry name is
// optional, checked, and only with a glue format, and a pipeline decodes with one registry. Pure.
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../../src/cli/parse-args.js';
import { configFromFlags } from '../../src/cli/pipeline-flags.js';
import { runCommandSpec } from '../../src/cli/run-command.js';
import { loadConfig } from '../../src/config.js';
import { BASE_VARIABLES, configProblems } from './config-problems.js';

const base = BASE_VARIABLES;
const glue = { ...base, VALUE_FORMAT: 'glue' };

describe('Glue Schema Registry settings', () => {
  it('needs no URL: a glue format alone reads versions of any registry', () => {
    const config = loadConfig(glue);
    expect(config.valueFormat).toBe('glue');
    expect(config.glueRegistry).toEqual({});
    expect(config.registry).toBeUndefined();
    expect(loadConfig(base).glueRegistry).toBeUndefined();
  });

  it('holds versions to GLUE_SCHEMA_REGISTRY_NAME, for keys too, and takes declared columns from glue values', () => {
    expect(loadConfig({ ...glue, GLUE_SCHEMA_REGISTRY_NAME: 'orders-registry' }).glueRegistry).toEqual({
      registryName: 'orders-registry',
    });
    const { VALUE_FORMAT: _value, ...keys } = glue;
    expect(loadConfig({ ...keys, KEY_FORMAT: 'glue' }).glueRegistry).toEqual({});
    expect(loadConfig({ ...glue, OUTPUT_FORMAT: 'parquet', VALUE_COLUMNS: 'id:bigint:id' }).columns).toEqual([
      { name: 'id', type: 'bigint', path: 'id' },
    ]);
  });

  it.each([
    [
      { ...glue, GLUE_SCHEMA_REGISTRY_NAME: 'orders registry' },
      ["GLUE_SCHEMA_REGISTRY_NAME must be 1 to 255 letters, digits and -_$#., got 'orders registry'"],
    ],
    [
      { ...glue, KEY_FORMAT: 'confluent', SCHEMA_REGISTRY_URL: 'http://registry:8081' },
      ["KEY_FORMAT and VALUE_FORMAT must not decode with two schema registries, got 'confluent' and 'glue'"],
    ],
  ])('refuses %j before touching anything', (env, problems) => {
    expect(configProblems(env)).toEqual(problems);
  });

  it('ignores a registry setting no format uses: the Glue name without glue, the URL without confluent', () => {
    expect(configProblems({ ...glue, SCHEMA_REGISTRY_URL: 'http://registry:8081' })).toEqual([]);
    expect(configProblems({ ...glue, VALUE_FORMAT: 'json', GLUE_SCHEMA_REGISTRY_NAME: 'orders' })).toEqual(
      [],
    );
  });

  it('takes --value-format glue and --glue-schema-registry-name on the command line', () => {
    const flags = parseFlags(runCommandSpec, [
      '--topic',
      'orders',
      '--group-id',
      'g',
      '--value-format',
      'glue',
      '--glue-schema-registry-name',
      'orders-registry',
    ]);
    const config = configFromFlags(flags, 'run', { KAFKA_BROKERS: 'b:9092' });
    expect(config.valueFormat).toBe('glue');
    expect(config.glueRegistry).toEqual({ registryName: 'orders-registry' });
  });
});
