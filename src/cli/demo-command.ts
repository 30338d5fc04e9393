import type { Command } from 'commander';
import { DemoError, runDemo } from '../demo/run-demo.ts';

/**
 * Registers `demo`: the whole product on this machine (embedded PostgreSQL, local cloud, a worker process), three
 * servers up, down to one, then everything stopped. Exits 0 only when the shutdown left no server and no process;
 * Ctrl-C stops it early and still cleans up (exit 130).
 */
export function registerDemoCommand(program: Command): void {
  const command = program
    .command('demo')
    .description('Run the whole thing locally: start 3 servers on the local cloud, decrease to 1, tear down, and time each step.')
    .option('--servers <n>', 'servers to start with', '3')
    .option('--keep <n>', 'servers left after the decrease', '1')
    .addHelpText('after', '\nExample:\n  $ npm run demo\n  $ npx dynamic-servers demo --servers 5 --keep 2')
    .action(async (options: { servers: string; keep: string }) => {
      const servers = Number(options.servers);
      const keep = Number(options.keep);
      if (!Number.isSafeInteger(servers) || servers < 1 || servers > 20 || !Number.isSafeInteger(keep) || keep < 0 || keep >= servers) {
        command.error(`error: --servers must be a whole number from 1 to 20 and --keep one from 0 to servers - 1, got --servers ${options.servers} --keep ${options.keep}`, { exitCode: 2, code: 'dynamic-servers.usage' });
      }
      const interrupt = new AbortController();
      const onSignal = () => interrupt.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const report = await runDemo({ out: process.stdout, servers, keep, signal: interrupt.signal });
        if (report.workerExit !== 0 || report.serversLeftInCloud !== 0 || report.processesLeft.length > 0) {
          throw new DemoError(`the shutdown was not clean: worker exit ${report.workerExit}, ${report.serversLeftInCloud} servers left, processes left: ${report.processesLeft.join(', ') || 'none'}`);
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (interrupt.signal.aborted) process.exitCode = 130;
    });
}
