// Answers looked up once per key for the life of an adapter (a run), concurrent lookups of a key sharing
// one request. A lookup that fails is forgotten, so the next one asks again.

/** The answers of one kind of lookup, by key. */
export class LookupCache<K, V> {
  private readonly answers = new Map<K, Promise<V>>();

  /** The answer kept for `key`, or the one `lookUp` gives, kept unless it fails. */
  get(key: K, lookUp: () => Promise<V>): Promise<V> {
    let answer = this.answers.get(key);
    if (answer === undefined) {
      answer = lookUp();
      this.answers.set(key, answer);
      answer.catch(() => this.answers.delete(key));
    }
    return answer;
  }
}
