// The `nodejs` language host of the Pulumi engine, used where the official `pulumi-language-nodejs` binary
// is not installed (the engine built from the Go module proxy ships without it).
//
// The CLI starts this process with the engine's address as the last argument, reads the port printed on the
// first line of stdout, and calls the LanguageRuntime gRPC service. `Run` starts the program the way the
// official host does: `node <@pulumi/pulumi>/cmd/run --monitor ... <program>`, with the stack's configuration
// in PULUMI_CONFIG. Programs run on the project's pinned Node (`node_modules/.bin/node` in the program's directory
// or above it), whatever Node runs this host, so a TypeScript `main` runs through Node's own type stripping.
// The host and its programs exit as soon as the engine that started them is gone (exit-with-parent.mjs).
//
// Plain JavaScript on purpose: it is copied into the engine cache and must run wherever the CLI runs it.
import './exit-with-parent.mjs';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';

/** Exit code with which `@pulumi/pulumi/cmd/run` says it already reported the error to the user. */
const EXIT_ALREADY_REPORTED = 32;

/** The oldest Node that runs the programs (TypeScript through type stripping without a flag): major, minor. */
const MINIMUM_MAJOR = 22;
const MINIMUM_MINOR = 18;

/** Loaded first into every program, so a program ends with this host. */
const EXIT_WITH_PARENT = new URL('./exit-with-parent.mjs', import.meta.url).href;

const engineAddress = process.argv[process.argv.length - 1] ?? '';
let rootDirectory = process.cwd();

const sdkDir = findSdkDir(rootDirectory);
const sdkRequire = createRequire(join(sdkDir, 'package.json'));
const grpc = sdkRequire('@grpc/grpc-js');
const languageRpc = sdkRequire('./proto/language_grpc_pb.js');
const language = sdkRequire('./proto/language_pb.js');
const plugin = sdkRequire('./proto/plugin_pb.js');
const empty = sdkRequire('google-protobuf/google/protobuf/empty_pb.js');
const sdkVersion = JSON.parse(readFileSync(join(sdkDir, 'package.json'), 'utf8')).version;

/**
 * Locates `@pulumi/pulumi` from the project, falling back to the SDK the engine cache was installed for.
 * @param {string} from
 * @returns {string}
 */
function findSdkDir(from) {
  try {
    return dirname(createRequire(join(from, 'noop.js')).resolve('@pulumi/pulumi/package.json'));
  } catch {
    const fallback = process.env.DYNAMIC_SERVERS_PULUMI_SDK;
    if (fallback && existsSync(join(fallback, 'package.json'))) return fallback;
  }
  process.stderr.write(`pulumi-language-nodejs: @pulumi/pulumi is not installed in ${from}; run \`npm install\` there.\n`);
  process.exit(1);
}

/**
 * Resource plugins the program needs: packages in node_modules whose package.json says `pulumi.resource: true`.
 * @param {string} root
 * @returns {{ name: string, version: string, server: string }[]}
 */
function requiredResourcePackages(root) {
  const modules = join(root, 'node_modules');
  if (!existsSync(modules)) return [];
  const packageDirs = [];
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) {
      for (const scoped of readdirSync(join(modules, entry))) packageDirs.push(join(modules, entry, scoped));
    } else {
      packageDirs.push(join(modules, entry));
    }
  }
  const found = [];
  for (const dir of packageDirs) {
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    if (!pkg.pulumi?.resource) continue;
    const name = pkg.pulumi.name ?? String(pkg.name).replace(/^@pulumi\//, '').replace(/^@/, '');
    const version = String(pkg.pulumi.version ?? pkg.version);
    found.push({ name, version: version.startsWith('v') ? version : `v${version}`, server: pkg.pulumi.server ?? '' });
  }
  return found;
}

/**
 * True when `version` (`v22.18.0` or `22.18.0`) is at least MINIMUM_MAJOR.MINIMUM_MINOR.
 * @param {string} version
 */
function supportedNode(version) {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > MINIMUM_MAJOR || (major === MINIMUM_MAJOR && minor >= MINIMUM_MINOR);
}

/**
 * The Node that runs the program in `programDirectory`: the first `node_modules/.bin/node` found from there up to
 * the root (the project's pinned Node), else the Node running this host; throws, saying what to do, when that
 * Node is older than MINIMUM_MAJOR.MINIMUM_MINOR.
 * @param {string} programDirectory
 * @returns {string}
 */
function programNode(programDirectory) {
  for (let dir = programDirectory; ; dir = dirname(dir)) {
    const pinned = join(dir, 'node_modules', '.bin', 'node');
    if (existsSync(pinned)) {
      const version = execFileSync(pinned, ['--version'], { encoding: 'utf8' }).trim();
      if (supportedNode(version)) return pinned;
      throw new Error(`${pinned} is Node ${version}; the program needs Node ${MINIMUM_MAJOR}.${MINIMUM_MINOR} or newer`);
    }
    if (dirname(dir) === dir) break;
  }
  if (supportedNode(process.version)) return process.execPath;
  throw new Error(
    `the program in ${programDirectory} needs Node ${MINIMUM_MAJOR}.${MINIMUM_MINOR} or newer, and no node_modules/.bin/node was found ` +
      `there or above it; the Node on PATH (${process.execPath}) is ${process.version}. Run \`npm install\` in the project, which pins its Node (a project of your own pins one with the \`node\` package: \`npm install node@24\`, as \`dynamic-servers init\` does).`,
  );
}

/**
 * Turns the runtime options of Pulumi.yaml (a protobuf Struct) into a plain object.
 * @param {any} info a ProgramInfo message, or undefined
 * @returns {Record<string, unknown>}
 */
function runtimeOptions(info) {
  return info?.getOptions()?.toJavaScript() ?? {};
}

/**
 * The directory of the program a RunRequest runs.
 * @param {any} request a RunRequest message
 * @returns {string}
 */
function programDirectoryOf(request) {
  return request.getInfo()?.getProgramDirectory() || request.getPwd() || rootDirectory;
}

/**
 * The command line of `@pulumi/pulumi/cmd/run` for one RunRequest.
 * @param {any} request a RunRequest message
 * @returns {string[]}
 */
function runArguments(request) {
  const info = request.getInfo();
  const programDirectory = programDirectoryOf(request);
  const entryPoint = info?.getEntryPoint() || request.getProgram() || '.';
  const program = entryPoint === '.' ? programDirectory : isAbsolute(entryPoint) ? entryPoint : join(programDirectory, entryPoint);
  const args = [join(sdkDir, 'cmd', 'run')];
  /** @type {(flag: string, value: unknown) => void} */
  const add = (flag, value) => {
    if (value !== undefined && value !== '') args.push(`--${flag}`, String(value));
  };
  add('monitor', request.getMonitorAddress());
  add('engine', engineAddress);
  add('organization', request.getOrganization());
  add('project', request.getProject());
  add('root-directory', info?.getRootDirectory() || rootDirectory);
  add('stack', request.getStack());
  add('pwd', request.getPwd());
  if (request.getDryrun()) args.push('--dry-run');
  if (request.getParallel() > 0) add('parallel', request.getParallel());
  args.push(program, ...request.getArgsList());
  return args;
}

/** @type {Set<import('node:child_process').ChildProcess>} */
const running = new Set();

/** @typedef {(error: Error | null, response?: unknown) => void} Callback */

/** Handlers of the LanguageRuntime service; methods left out answer UNIMPLEMENTED. @type {Record<string, (call: any, callback: Callback) => void>} */
const service = {
  handshake(call, callback) {
    const root = call.request.getRootDirectory();
    if (root) rootDirectory = root;
    callback(null, new language.LanguageHandshakeResponse());
  },

  getPluginInfo(_call, callback) {
    callback(null, new plugin.PluginInfo().setVersion(sdkVersion));
  },

  getRequiredPlugins(call, callback) {
    const root = call.request.getInfo()?.getRootDirectory() || rootDirectory;
    const plugins = requiredResourcePackages(root).map((pkg) =>
      new plugin.PluginDependency().setName(pkg.name).setKind('resource').setVersion(pkg.version).setServer(pkg.server),
    );
    callback(null, new language.GetRequiredPluginsResponse().setPluginsList(plugins));
  },

  getRequiredPackages(call, callback) {
    const root = call.request.getInfo()?.getRootDirectory() || rootDirectory;
    const packages = requiredResourcePackages(root).map((pkg) =>
      new plugin.PackageDependency().setName(pkg.name).setKind('resource').setVersion(pkg.version).setServer(pkg.server),
    );
    callback(null, new language.GetRequiredPackagesResponse().setPackagesList(packages));
  },

  run(call, callback) {
    const request = call.request;
    const options = runtimeOptions(request.getInfo());
    const secretKeys = request.getConfigsecretkeysList();
    /** @type {NodeJS.ProcessEnv} */
    const env = {
      ...process.env,
      PULUMI_CONFIG: JSON.stringify(Object.fromEntries(request.getConfigMap().entries())),
      PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(secretKeys),
      PULUMI_NODEJS_TYPESCRIPT: String(options.typescript !== false),
    };
    if (typeof options.tsconfig === 'string') env.PULUMI_NODEJS_TSCONFIG_PATH = options.tsconfig;
    const nodeArgs = typeof options.nodeargs === 'string' ? options.nodeargs.split(/\s+/).filter(Boolean) : [];
    const response = new language.RunResponse();
    let node;
    try {
      node = programNode(programDirectoryOf(request));
    } catch (error) {
      callback(null, response.setError(`pulumi-language-nodejs: ${/** @type {Error} */ (error).message}`));
      return;
    }
    const child = spawn(node, ['--import', EXIT_WITH_PARENT, ...nodeArgs, ...runArguments(request)], {
      cwd: request.getPwd() || rootDirectory,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    running.add(child);
    child.on('error', (error) => {
      running.delete(child);
      callback(null, response.setError(`could not start the program: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      running.delete(child);
      if (code === 0) callback(null, response);
      else if (code === EXIT_ALREADY_REPORTED) callback(null, response.setBail(true));
      else callback(null, response.setError(`Program exited with ${signal ? `signal ${signal}` : `non-zero exit code: ${code}`}`));
    });
  },

  cancel(_call, callback) {
    for (const child of running) child.kill('SIGTERM');
    callback(null, new empty.Empty());
  },
};

const server = new grpc.Server({ 'grpc.max_receive_message_length': 400 * 1024 * 1024 });
server.addService(languageRpc.LanguageRuntimeService, service);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (/** @type {Error | null} */ error, /** @type {number} */ port) => {
  if (error) {
    process.stderr.write(`pulumi-language-nodejs: could not listen: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${port}\n`);
});
