/** Something in the analysed tree that could not be read; the rest of the analysis goes on. */
export interface Problem {
  /** The file or directory concerned. */
  path: string;
  /** One line saying what is wrong, for people. */
  message: string;
}

/** Collects problems, once per path and message, in the order they were found. */
export class Problems {
  readonly #seen = new Map<string, Problem>();

  add(problem: Problem): void {
    const id = `${problem.path}\0${problem.message}`;
    if (!this.#seen.has(id)) this.#seen.set(id, problem);
  }

  get size(): number {
    return this.#seen.size;
  }

  list(): Problem[] {
    return [...this.#seen.values()];
  }
}

/** A one-line reason for a filesystem error. */
export function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'not found (removed while running?)';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'not a directory';
  return error instanceof Error ? error.message : String(error);
}
