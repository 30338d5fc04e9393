// Before any suite: the test-only servers built or installed on first use (moto from PyPI, FerretDB from the
// Go module proxy), so a cold machine spends that time here rather than inside a test's time limit.
import { installFerretDb } from './support/toolchain/ferretdb.ts';
import { installMoto } from './support/toolchain/moto.ts';

export default async function globalSetup(): Promise<void> {
  const log = (what: string) => (line: string) => process.stderr.write(`${what}: ${line}\n`);
  await installMoto({ log: log('moto') });
  await installFerretDb({ log: log('ferretdb') });
}
