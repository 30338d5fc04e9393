// moto for the AWS tests: installed by test/support/toolchain/moto.ts, started on 127.0.0.1,
// with the fake credentials moto accepts put where the standard AWS chain finds them (the environment).
import { installMoto, startMoto, type MotoServer } from './toolchain/moto.ts';

/** The AWS region the tests use. */
export const MOTO_REGION = 'eu-central-1';

/** Installs (once) and starts moto, and points the standard AWS credential chain at moto's fake credentials. */
export async function startMotoForTests(): Promise<MotoServer> {
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  delete process.env.AWS_PROFILE;
  return startMoto({ installation: await installMoto() });
}
