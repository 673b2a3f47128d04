// Reads the Parquet parts under a topic's folder with DuckDB, as a Hive-style table: a few rows, then
// the records per window. Used by `npm run demo -- --format parquet`.
//   node scripts/read-parquet.mjs <folder>/topic=<topic>
import { DuckDBInstance } from '@duckdb/node-api';

const folder = process.argv[2];
if (!folder) {
  console.error('usage: node scripts/read-parquet.mjs <output>/topic=<topic>');
  process.exit(2);
}
const glob = `${folder.replaceAll("'", "''")}/**/*.parquet`;
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const show = async (sql) => {
  const reader = await connection.runAndReadAll(sql);
  console.table(reader.getRowObjectsJson());
};
// The sample orders' fields: declared columns, or fields of a typed `value` (registry-decoded values).
const columns = (await connection.runAndReadAll(`describe select * from read_parquet('${glob}')`))
  .getRowObjectsJson()
  .map((row) => row.column_name);
const fields = ['order_id', 'amount', 'currency', 'created_at']
  .map((field) => (columns.includes(field) ? field : `value.${field} as ${field}`))
  .join(', ');
await show(
  `select "partition", "offset", "timestamp", key, ${fields}
   from read_parquet('${glob}', hive_partitioning = true, union_by_name = true)
   order by "timestamp", "partition" limit 3`,
);
await show(
  `select "date", "hour", "window", count(*) as records
   from read_parquet('${glob}', hive_partitioning = true, union_by_name = true) group by all order by "window"`,
);
connection.closeSync();
instance.closeSync();
