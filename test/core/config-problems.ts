// The config's verdict on a set of variables, for tests that read its problems rather than its result.
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

/** Every problem `loadConfig` names in `env`; empty when it accepts them. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}
