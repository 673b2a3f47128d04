// Order events as JSON, each exactly a given number of bytes: values shaped like what most topics carry
// (ids, amounts, enums, nested objects, arrays, a free-text field), about as compressible as real
// events, where the default values, random base64 text, are the codecs' worst case.

const SKUS = ['SKU-004211', 'SKU-118730', 'SKU-220045', 'SKU-309912', 'SKU-441876', 'SKU-500013'];
const NAMES = [
  'Merino wool socks',
  'Ceramic pour-over dripper',
  'Trail running shoes',
  'Linen bed sheet set',
  'Stainless steel bottle',
  'Noise-cancelling headphones',
];
const STATUSES = ['created', 'paid', 'packed', 'shipped'];
const CHANNELS = ['web', 'ios', 'android', 'store'];
const CITIES = [
  ['DE', 'Berlin', '10115'],
  ['FR', 'Lyon', '69002'],
  ['NL', 'Utrecht', '3511'],
  ['ES', 'Valencia', '46001'],
  ['IT', 'Torino', '10121'],
] as const;
const WORDS =
  'please leave the parcel with the neighbour at number twelve if nobody answers the door ring twice gift wrap requested no invoice in the box deliver after six'.split(
    ' ',
  );

const hex6 = (r: number) =>
  Math.floor(r * 2 ** 24)
    .toString(16)
    .padStart(6, '0');

/** A small, fast PRNG (mulberry32): the same seed gives the same values on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Record `index`'s value: a JSON order event of exactly `bytes` bytes (ASCII), stamped `timestampMs`.
 * Below about 300 bytes the event is longer than asked: the size is then the event's own.
 */
export function jsonOrderValue(index: number, timestampMs: number, bytes: number): Buffer {
  const next = random(index + 1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const [country, city, postcode] = pick(CITIES);
  const event = {
    type: 'order.updated',
    orderId: `ord-${hex6(next())}${hex6(next())}`,
    customerId: `cus-${String(Math.floor(next() * 1_000_000)).padStart(6, '0')}`,
    updatedAt: new Date(timestampMs).toISOString(),
    status: pick(STATUSES),
    channel: pick(CHANNELS),
    currency: 'EUR',
    total: Math.round(next() * 50_000) / 100,
    shipping: { country, city, postcode, method: next() < 0.8 ? 'standard' : 'express' },
    items: [] as Array<{ sku: string; name: string; qty: number; price: number }>,
    comment: '',
  };
  let length = JSON.stringify(event).length;
  for (;;) {
    const item = {
      sku: pick(SKUS),
      name: pick(NAMES),
      qty: 1 + Math.floor(next() * 4),
      price: Math.round(next() * 20_000) / 100,
    };
    const added = JSON.stringify(item).length + (event.items.length > 0 ? 1 : 0);
    if (length + added > bytes - 40) break;
    event.items.push(item);
    length += added;
  }
  let comment = '';
  while (length + comment.length < bytes) comment += `${pick(WORDS)} `;
  event.comment = comment.slice(0, Math.max(0, bytes - length));
  return Buffer.from(JSON.stringify(event), 'latin1');
}
