'use strict';
// Runs one named check with the official airtable.js client against an Airtable emulator and prints
// one JSON line: {"result": ...} or, when the client rejects, {"error": {statusCode, error, message}}.
//
//   EMULATOR_URL=http://127.0.0.1:PORT EMULATOR_TOKEN=… BASE_ID=app… TABLE='Work Items' \
//     node checks.js <check> ['<JSON argument>']
//
// Driven by tests/clients/test_airtable_js.py; the checks only call the client, the test asserts.

const Airtable = require('airtable');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const client = new Airtable({
  apiKey: env('EMULATOR_TOKEN'),
  endpointUrl: env('EMULATOR_URL'),
  noRetryIfRateLimited: true,
  requestTimeout: 10000,
});
const table = client.base(env('BASE_ID'))(env('TABLE'));

const plain = (record) => ({id: record.id, fields: record.fields});

const checks = {
  // single create answers a bare record, batch create a list
  create: async ({fields, records}) => ({
    single: plain(await table.create(fields)),
    batch: (await table.create(records.map((f) => ({fields: f})))).map(plain),
  }),
  createMany: async ({records}) => (await table.create(records.map((f) => ({fields: f})))).map(plain),
  select: async (params) => (await table.select(params).all()).map(plain),
  firstPage: async (params) => (await table.select(params).firstPage()).map(plain),
  pages: async (params) => {
    const sizes = [];
    await table.select(params).eachPage((records, next) => {
      sizes.push(records.length);
      next();
    });
    return sizes;
  },
  find: async ({id}) => plain(await table.find(id)),
  update: async ({records, options}) => (await table.update(records, options || {})).map(plain),
  updateOne: async ({id, fields}) => plain(await table.update(id, fields)),
  replace: async ({records}) => (await table.replace(records)).map(plain),
  destroy: async ({ids}) => (await table.destroy(ids)).map((r) => r.id),
};

async function main() {
  const [name, argument] = process.argv.slice(2);
  const check = checks[name];
  if (!check) throw new Error(`unknown check ${name}; known: ${Object.keys(checks).join(', ')}`);
  try {
    const result = await check(argument ? JSON.parse(argument) : {});
    process.stdout.write(JSON.stringify({result}) + '\n');
  } catch (err) {
    if (!(err instanceof Airtable.Error)) throw err;
    const {statusCode, error, message} = err;
    process.stdout.write(JSON.stringify({error: {statusCode, error, message}}) + '\n');
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(2);
});
