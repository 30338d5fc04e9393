// `dynamic-servers init [dir]`: writes a new deployment project (project-files.ts) into an empty or new directory.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidInputError } from '../records/errors.ts';
import { projectFiles, projectNameOf } from './project-files.ts';

/** init was pointed at a directory that already holds something (or at a file); nothing was written. */
export class ProjectDirectoryNotEmptyError extends InvalidInputError {
  override name = 'ProjectDirectoryNotEmptyError';
}

/** What init wrote. */
export interface InitReport {
  /** The project directory, absolute. */
  dir: string;
  /** The files written, relative to `dir`, in the order written. */
  files: string[];
}

/** The entries of `dir`, an empty list when it does not exist; ProjectDirectoryNotEmptyError when it is not a directory. */
async function entriesOf(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'ENOTDIR') throw new ProjectDirectoryNotEmptyError(`${dir} is a file, not a directory: init makes a project in an empty or new directory`);
    throw error;
  }
}

/**
 * Creates a deployment project in `dir` (created when missing), relative to `cwd`. Throws
 * ProjectDirectoryNotEmptyError, before writing anything, when `dir` holds anything at all.
 */
export async function initProject(dir: string, cwd = process.cwd()): Promise<InitReport> {
  const absolute = resolve(cwd, dir);
  const entries = await entriesOf(absolute);
  if (entries.length > 0) {
    const shown = entries.sort().slice(0, 5).join(', ') + (entries.length > 5 ? ', ...' : '');
    throw new ProjectDirectoryNotEmptyError(`${absolute} is not empty (${shown}): init makes a project in an empty or new directory, and changed nothing`);
  }
  const files = projectFiles(projectNameOf(absolute));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(absolute, path)), { recursive: true });
    await writeFile(join(absolute, path), text, { flag: 'wx' });
  }
  return { dir: absolute, files: Object.keys(files) };
}
