// Debian packages some suites run (Prometheus and promtool from `prometheus`, headless Chromium from `chromium`),
// installed by the test set-up with apt-get when a program is missing. Test-only: the product never installs these.
import { access, constants } from 'node:fs/promises';
import { runCommand } from '../../src/toolchain/run-command.ts';

/** A Debian package and the programs it provides that the tests run. */
export interface DebianPackage {
  name: string;
  programs: readonly string[];
}

/** Prometheus (`prometheus`, `promtool`): the metrics suite scrapes a worker with it and lints with promtool. */
export const PROMETHEUS_PACKAGE: DebianPackage = { name: 'prometheus', programs: ['/usr/bin/prometheus', '/usr/bin/promtool'] };

/** Chromium, run headless by playwright-core to open the status page. */
export const CHROMIUM_PACKAGE: DebianPackage = { name: 'chromium', programs: ['/usr/bin/chromium'] };

/** A package the tests need could not be installed; the message says what to run by hand. */
export class DebianPackageUnavailableError extends Error {
  override name = 'DebianPackageUnavailableError';
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** The packages of `packages` one of whose programs is missing. */
export async function missingPackages(packages: readonly DebianPackage[]): Promise<DebianPackage[]> {
  const missing: DebianPackage[] = [];
  for (const pkg of packages) {
    const present = await Promise.all(pkg.programs.map(isExecutable));
    if (present.includes(false)) missing.push(pkg);
  }
  return missing;
}

/**
 * Installs with `apt-get install -y --no-install-recommends` every package of `packages` one of whose programs is
 * missing, after one `apt-get update`; does nothing (and starts no process) when all are present. Services the
 * packages bring are not started (the tests start their own processes). Throws DebianPackageUnavailableError, with
 * apt's last words, when apt-get is missing, the process is not root, or the install fails.
 */
export async function installDebianPackages(packages: readonly DebianPackage[], log: (line: string) => void = () => {}): Promise<void> {
  const missing = await missingPackages(packages);
  if (missing.length === 0) return;
  const names = missing.map((pkg) => pkg.name);
  const byHand = `apt-get update && apt-get install -y --no-install-recommends ${names.join(' ')}`;
  if (process.getuid?.() !== 0) throw new DebianPackageUnavailableError(`the tests need the Debian packages ${names.join(', ')}; run as root: ${byHand}`);
  if (!(await isExecutable('/usr/bin/apt-get'))) throw new DebianPackageUnavailableError(`the tests need the Debian packages ${names.join(', ')} and this machine has no apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log(`installing the Debian packages ${names.join(', ')} with apt-get (once per machine; several minutes on a cold one)`);
  const started = Date.now();
  const updated = await runCommand('apt-get', ['update'], { env });
  if (updated.code !== 0) throw new DebianPackageUnavailableError(`apt-get update failed (${updated.code}): ${updated.stderr.trim().slice(-1500)}`);
  const installed = await runCommand('apt-get', ['install', '-y', '--no-install-recommends', ...names], { env });
  if (installed.code !== 0) throw new DebianPackageUnavailableError(`${byHand} failed (${installed.code}): ${installed.stderr.trim().slice(-1500)}`);
  const still = await missingPackages(missing);
  if (still.length > 0) throw new DebianPackageUnavailableError(`apt-get installed ${names.join(', ')} but ${still.flatMap((pkg) => pkg.programs).join(', ')} are still missing`);
  log(`installed ${names.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
