// Ends this process as soon as the process that started it is gone. Loaded first (`node --import`) into every
// plugin process the Pulumi engine starts from this project's shims (the dynamic-provider plugin, the language
// host) and into the programs the language host starts. The engine starts plugins in process groups of their own,
// so a killed engine (e.g. its worker's whole process group killed with SIGKILL) would otherwise leave them
// running, and making cloud calls, for minutes.
//
// The parent is the pid in DYNAMIC_SERVERS_PLUGIN_PARENT when a shim set it (the engine, even if it died before
// this module ran), else this process's parent at load. The variable is removed, so children do not inherit it.
// Plain JavaScript on purpose: it is copied into the engine cache and runs on whatever Node runs the plugin.
import { setInterval } from 'node:timers';

/** How often the parent is checked (milliseconds). */
const CHECK_EVERY_MS = 250;

const fromShim = Number(process.env.DYNAMIC_SERVERS_PLUGIN_PARENT);
delete process.env.DYNAMIC_SERVERS_PLUGIN_PARENT;
const parent = Number.isInteger(fromShim) && fromShim > 0 ? fromShim : process.ppid;

setInterval(() => {
  // Orphans are re-parented (to init or a subreaper): the pid of the parent changes when it dies.
  if (process.ppid !== parent) process.exit(1);
}, CHECK_EVERY_MS).unref();
