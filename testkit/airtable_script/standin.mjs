// A small stand-in for the globals of Airtable's automation scripts ("Run a script"): `input.config()`,
// `input.secret(name)`, `output.set(key, value)`, `fetch` and `console`, enough to run a script shipped in
// integrations/ under node against local emulators. It is test infrastructure (testkit.airtable_script).
//
//   SCRIPT_CONFIG='{"recordId": "rec…"}' SCRIPT_SECRETS='{"bitbucketToken": "…"}' \
//   SCRIPT_REWRITE='{"https://api.bitbucket.org/2.0": "http://127.0.0.1:PORT/2.0"}' node standin.mjs script.js
//
// Prints one JSON line: {"outputs": {...}, "logs": [...], "requests": [{method, url}], "error": null | "..."}.
// Like Airtable, the script is the body of an async function (top-level await works); node-only names
// (require, process, module) are not reachable from it. `fetch` only reaches the URLs SCRIPT_REWRITE maps.
import {readFileSync} from 'node:fs';

const [scriptPath] = process.argv.slice(2);
const source = readFileSync(scriptPath, 'utf8');
const config = JSON.parse(process.env.SCRIPT_CONFIG || '{}');
const secrets = JSON.parse(process.env.SCRIPT_SECRETS || '{}');
const rewrite = Object.entries(JSON.parse(process.env.SCRIPT_REWRITE || '{}'));

const outputs = {};
const logs = [];
const requests = [];

const input = {
  config: () => structuredClone(config),
  secret: (name) => {
    if (!(name in secrets)) throw new Error(`No secret named ${JSON.stringify(name)} is added to this action.`);
    return secrets[name];
  },
};
const output = {
  set: (key, value) => {
    if (typeof key !== 'string') throw new Error('output.set: the key must be a string');
    outputs[key] = JSON.parse(JSON.stringify(value)); // values must be JSON, as in Airtable
  },
};
const scriptConsole = Object.fromEntries(
  ['log', 'info', 'warn', 'error'].map((level) => [level, (...args) => logs.push(args.map(String).join(' '))]),
);

async function standinFetch(url, init = {}) {
  const target = String(url);
  const rule = rewrite.find(([from]) => target.startsWith(from));
  requests.push({method: init.method || 'GET', url: target});
  if (!rule) throw new TypeError(`fetch failed: ${target} is not reachable from this stand-in`);
  const response = await fetch(rule[1] + target.slice(rule[0].length), {...init, signal: AbortSignal.timeout(12000)});
  return response; // Airtable's fetch gives a standard Response too
}

const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const body = new AsyncFunction('input', 'output', 'fetch', 'console', 'require', 'process', 'module', source);
let error = null;
try {
  await body(input, output, standinFetch, scriptConsole, undefined, undefined, undefined);
} catch (exc) {
  error = exc instanceof Error ? exc.message : String(exc);
}
process.stdout.write(JSON.stringify({outputs, logs, requests, error}) + '\n');
