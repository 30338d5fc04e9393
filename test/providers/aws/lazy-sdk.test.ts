// The AWS SDK's EC2 client (about 60 MB of memory once loaded) is loaded when an AWS client first calls EC2, not
// when a worker starts: a worker with no AWS server type never holds it.
import { expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** Runs `script` as an ES module in a fresh Node process from the project root; resolves to its stdout. */
async function runNode(script: string): Promise<string> {
  // Credentials in the environment, so the SDK's chain never asks the instance metadata service.
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), env });
  return stdout.trim();
}

const LOADED_SDK = `Object.keys((await import('node:module')).default._cache).filter((path) => path.includes('@aws-sdk/client-ec2')).length`;

test('a worker process loads no EC2 SDK until an AWS client calls EC2', async () => {
  const beforeAnyCall = await runNode(
    `await import('./src/runtime.ts'); await import('./src/jobs/worker.ts'); ` +
      `const { AwsApiClient } = await import('./providers/aws/api-client.ts'); new AwsApiClient({ region: 'eu-west-1' }).close(); ` +
      `console.log(${LOADED_SDK});`,
  );
  expect(beforeAnyCall).toBe('0');

  const afterACall = await runNode(
    `const { AwsApiClient } = await import('./providers/aws/api-client.ts'); ` +
      `const client = new AwsApiClient({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }); ` +
      `await client.reboot('i-0123456789abcdef0').catch(() => {}); client.close(); ` +
      `console.log(${LOADED_SDK} > 0 ? 'loaded' : 'not loaded');`,
  );
  expect(afterACall).toBe('loaded');
});
