// The one value shape that holds the values of several schema versions. Pure: no I/O.
//
// A window's parts may each hold values of another version of the value's schema, and one Iceberg
// commit gives the table one type for them all. Versions of a registry schema differ the ways its
// compatibility rules allow: fields added or dropped (every field is optional, so each version's values
// read with nulls for the fields it lacks), and numbers widened. The union keeps every field any version
// has and takes the wider of two numbers where Iceberg can widen a column the same way (int to long,
// float to double, a decimal to more digits at the same scale), so older parts read as the wider type.
// Any other difference has no type that holds both; it is a problem naming where it is.
import { type ShapeField, shapeText, type ValueShape } from './value-shape.js';

/**
 * The shape that holds the values of every one of `shapes`, or the problems that keep them apart, each
 * naming the field's path from `path` (`value.customer.id`, `value.tags.element`, `value.attrs.value`)
 * and the two shapes.
 */
export function unionOfShapes(shapes: readonly ValueShape[], path = 'value'): ValueShape | string[] {
  const [first, ...rest] = shapes;
  if (first === undefined) return [`${path} has no shape to unite`];
  const problems: string[] = [];
  const union = rest.reduce((held, shape) => unite(held, shape, path, problems), first);
  return problems.length > 0 ? [...new Set(problems)] : union;
}

/** `a` and `b` as one shape; where they conflict, `a` is kept and the problem noted. */
function unite(a: ValueShape, b: ValueShape, path: string, problems: string[]): ValueShape {
  if (shapeText(a) === shapeText(b)) return a;
  const widened = widerOf(a, b);
  if (widened !== undefined) return widened;
  if (a.kind === 'struct' && b.kind === 'struct')
    return { kind: 'struct', fields: uniteFields(a.fields, b.fields, path, problems) };
  if (a.kind === 'list' && b.kind === 'list')
    return { kind: 'list', element: unite(a.element, b.element, `${path}.element`, problems) };
  if (a.kind === 'map' && b.kind === 'map')
    return { kind: 'map', value: unite(a.value, b.value, `${path}.value`, problems) };
  problems.push(`${path} is ${shapeText(a)} in one schema version and ${shapeText(b)} in another`);
  return a;
}

/** Struct fields by name, in the order first seen; a field both have is both shapes united. */
function uniteFields(
  a: readonly ShapeField[],
  b: readonly ShapeField[],
  path: string,
  problems: string[],
): ShapeField[] {
  const fromB = new Map(b.map((f) => [f.name, f]));
  const names = new Set(a.map((f) => f.name));
  const fields = a.map((f) => {
    const other = fromB.get(f.name);
    if (other === undefined) return f;
    const shape = unite(f.shape, other.shape, `${path}.${f.name}`, problems);
    const doc = f.doc ?? other.doc;
    return { name: f.name, shape, ...(doc === undefined ? {} : { doc }) };
  });
  return [...fields, ...b.filter((f) => !names.has(f.name))];
}

/**
 * The wider of two primitives when one holds every value of the other as the table can widen it; a
 * string and a json are both text in Parquet and Iceberg, so they make a string (not all of it JSON).
 */
function widerOf(a: ValueShape, b: ValueShape): ValueShape | undefined {
  const kinds = new Set([a.kind, b.kind]);
  const both = (x: ValueShape['kind'], y: ValueShape['kind']) =>
    kinds.size === 2 && kinds.has(x) && kinds.has(y);
  if (both('int', 'long')) return { kind: 'long' };
  if (both('float', 'double')) return { kind: 'double' };
  if (both('string', 'json')) return { kind: 'string' };
  if (a.kind === 'timestamp' && b.kind === 'timestamp') return { kind: 'timestamp', unit: 'micros' };
  if (a.kind === 'decimal' && b.kind === 'decimal' && a.scale === b.scale)
    return { kind: 'decimal', precision: Math.max(a.precision, b.precision), scale: a.scale };
  return undefined;
}
