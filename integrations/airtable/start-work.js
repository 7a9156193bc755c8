// Start work on an Airtable record: run the custom pipeline `start-work` of a Bitbucket repository with the
// record's ID, so the pipe (STAGE: start) creates its branch feature/<record ID>-<title> and writes it back.
//
// Paste this into the "Run a script" action of an Airtable automation whose trigger is "When a record enters
// a view" (the view of records ready for development). Set-up, step by step: docs/start-work.md.
//
//   Input variable (left panel, "+ Add input variable"):  recordId = the trigger's "Airtable record ID"
//   Secret (left panel, "Secrets"):  bitbucketToken = a Bitbucket repository access token, scope pipeline:write
//
// The script sends one request. Starting a record twice is harmless: the pipe reuses the branch it has.

// -- edit these four lines once -----------------------------------------------------------------------------
const WORKSPACE = 'your-workspace'; // bitbucket.org/<workspace>/<repository>
const REPOSITORY = 'your-repository';
const BRANCH = 'main'; // the branch whose bitbucket-pipelines.yml defines the custom pipeline
const PIPELINE = 'start-work'; // its name under `pipelines: custom:`
// ------------------------------------------------------------------------------------------------------------

const API = 'https://api.bitbucket.org/2.0';
const RECORD_ID = /^rec[A-Za-z0-9]{14}$/;

const {recordId} = input.config();
if (typeof recordId !== 'string' || !RECORD_ID.test(recordId)) {
  throw new Error(
    `recordId: got ${JSON.stringify(recordId)}; expected a record ID (rec followed by 14 letters or digits). ` +
      'Map the input variable recordId to the trigger\'s "Airtable record ID".',
  );
}
const token = await input.secret('bitbucketToken');
if (typeof token !== 'string' || !token.trim()) {
  throw new Error('The secret bitbucketToken is empty: add a Bitbucket repository access token (scope pipeline:write).');
}

const repository = `${encodeURIComponent(WORKSPACE)}/${encodeURIComponent(REPOSITORY)}`;
const response = await fetch(`${API}/repositories/${repository}/pipelines`, {
  method: 'POST',
  headers: {
    Authorization: `Bearer ${token.trim()}`,
    'Content-Type': 'application/json',
    Accept: 'application/json',
  },
  body: JSON.stringify({
    target: {
      type: 'pipeline_ref_target',
      ref_type: 'branch',
      ref_name: BRANCH,
      selector: {type: 'custom', pattern: PIPELINE},
    },
    variables: [{key: 'RECORD_ID', value: recordId}],
  }),
});

if (response.status !== 201) {
  throw new Error(await refusal(response));
}
const pipeline = await response.json();
const url = `https://bitbucket.org/${WORKSPACE}/${REPOSITORY}/pipelines/results/${pipeline.build_number}`;
console.log(`Started pipeline #${pipeline.build_number} (${PIPELINE} on ${BRANCH}) for ${recordId}: ${url}`);
output.set('buildNumber', pipeline.build_number);
output.set('pipelineUrl', url);

// What a refusal means, in one sentence that says what to fix (the token never appears in it).
async function refusal(answer) {
  const text = await answer.text();
  let message = text.trim().slice(0, 300);
  let detail;
  try {
    const error = JSON.parse(text).error || {};
    message = error.message || message;
    detail = error.detail;
  } catch (_notJson) {
    // Bitbucket's 429 is plain text
  }
  const said = message ? `: ${message}` : '';
  const where = `${WORKSPACE}/${REPOSITORY}`;
  switch (answer.status) {
    case 400:
      return (
        `Bitbucket did not start the pipeline (400${said}${typeof detail === 'string' ? ` ${detail}` : ''}). ` +
        `Check that Pipelines is enabled for ${where} and that bitbucket-pipelines.yml on ${BRANCH} has ` +
        `pipelines: custom: ${PIPELINE}.`
      );
    case 401:
      return `Bitbucket did not accept the secret bitbucketToken (401${said}): it is invalid or expired.`;
    case 403:
      if (detail && Array.isArray(detail.required)) {
        return (
          `The secret bitbucketToken lacks the scope ${detail.required.join(', ')} (403: it has ` +
          `${(detail.granted || []).join(', ') || 'none'}): create a repository access token with pipeline:write.`
        );
      }
      return `Bitbucket refused the token for ${where} (403${said}): use an access token of this repository.`;
    case 404:
      return `Bitbucket found no repository ${where} (404${said}): check WORKSPACE and REPOSITORY in the script.`;
    case 429:
      return 'Bitbucket\'s rate limit for the token is used up (429); it frees up within the hour: run the automation again then.';
    default:
      return `Bitbucket answered ${answer.status}${said}.`;
  }
}
